-- An audit log written by the version 1 record format (before issue 26),
-- made by the code of b5a793b: six records, no checkpoint. test_aud loads
-- it to prove that version 1 and version 2 records verify alike.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE audit_log( seq INTEGER PRIMARY KEY, type TEXT NOT NULL, time_ms INTEGER NOT NULL, actor TEXT NOT NULL, case_id TEXT, agency TEXT, event_id TEXT, recipient TEXT, record TEXT NOT NULL, leaf_hash BLOB NOT NULL);
INSERT INTO audit_log VALUES(1,'EVENT_RECEIVED',1793000001000,'mashd','case-v1','health','v1-event-1',NULL,'{"actor":"mashd","agency":"health","case_id":"case-v1","event_id":"v1-event-1","seq":1,"time":1793000001000,"type":"EVENT_RECEIVED","v":1}',X'4a59f670fb6110248188b7c62ab360a390641909de5a6d37123a20e3da836861');
INSERT INTO audit_log VALUES(2,'DECISION',1793000002000,'mashd','case-v1','health','v1-event-2','pp.police','{"actor":"mashd","agency":"health","case_id":"case-v1","event_id":"v1-event-2","legal_basis":"Children Act 1989 s17","purpose":"mash-triage","reason":"triage","recipient":"pp.police","rule_id":"mash-triage","seq":2,"shared":["signpost","category","severity"],"time":1793000002000,"type":"DECISION","v":1,"withheld":["subject.nhs_number","summary"]}',X'5492201e65a2f37627020f0eef7860787f01b16679256c2264e2e09673af78b7');
INSERT INTO audit_log VALUES(3,'EVENT_RECEIVED',1793000003000,'mashd','case-v1','health','v1-event-3',NULL,'{"actor":"mashd","agency":"health","case_id":"case-v1","event_id":"v1-event-3","seq":3,"time":1793000003000,"type":"EVENT_RECEIVED","v":1}',X'b03a260910efd3dd9d530e2dc6c4e38a24555610e7c4c831eee03fef508e4de6');
INSERT INTO audit_log VALUES(4,'DECISION',1793000004000,'mashd','case-v1','health','v1-event-4','pp.police','{"actor":"mashd","agency":"health","case_id":"case-v1","event_id":"v1-event-4","legal_basis":"Children Act 1989 s17","purpose":"mash-triage","reason":"triage","recipient":"pp.police","rule_id":"mash-triage","seq":4,"shared":["signpost","category","severity"],"time":1793000004000,"type":"DECISION","v":1,"withheld":["subject.nhs_number","summary"]}',X'9f9cae452a6bda07fcbdd30270b772d74b72a696fa7d9873330c38d10b55a893');
INSERT INTO audit_log VALUES(5,'EVENT_RECEIVED',1793000005000,'mashd','case-v1','health','v1-event-5',NULL,'{"actor":"mashd","agency":"health","case_id":"case-v1","event_id":"v1-event-5","seq":5,"time":1793000005000,"type":"EVENT_RECEIVED","v":1}',X'51134fa04f0fe8d038b1130b9e8b287b66416a52952df44c7681fc93dd8f654d');
INSERT INTO audit_log VALUES(6,'DECISION',1793000006000,'mashd','case-v1','health','v1-event-6','pp.police','{"actor":"mashd","agency":"health","case_id":"case-v1","event_id":"v1-event-6","legal_basis":"Children Act 1989 s17","purpose":"mash-triage","reason":"triage","recipient":"pp.police","rule_id":"mash-triage","seq":6,"shared":["signpost","category","severity"],"time":1793000006000,"type":"DECISION","v":1,"withheld":["subject.nhs_number","summary"]}',X'7d3db10b43183657c1200aec79491677c7faae1fcc6f2bc5994b74dbc612f294');
CREATE TABLE audit_state( id INTEGER PRIMARY KEY CHECK (id = 1), log_id TEXT NOT NULL, version INTEGER NOT NULL, tree_size INTEGER NOT NULL, frontier BLOB NOT NULL);
INSERT INTO audit_state VALUES(1,'mash-audit',1,6,X'00000000000000068c2255400409cae44bde742c55d3457b91a70db647f3f852692bfe29c3bc80cade036cc8d60d9648fd5e56dd8fe73d22c26f4f41141bc987c921727e70993e06');
CREATE TABLE audit_checkpoints( id INTEGER PRIMARY KEY, tree_size INTEGER NOT NULL, root_hash BLOB NOT NULL, timestamp INTEGER NOT NULL, log_id TEXT NOT NULL, envelope BLOB NOT NULL);
CREATE INDEX audit_log_case ON audit_log(case_id);
CREATE INDEX audit_log_agency ON audit_log(agency);
CREATE INDEX audit_log_time ON audit_log(time_ms);
COMMIT;
