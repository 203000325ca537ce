// console.js - the MASH web console's inbox page (issue 29).
//
// Lists the signed-in principal's opened deliveries (GET /api/inbox) and
// adds new ones as they arrive (server-sent events, GET /api/events).
// Everything shown is text from agencies: it is only ever set with
// textContent, never parsed as HTML. Nothing is kept in browser storage.
'use strict';

(function () {
  const list = document.getElementById('items');
  const status = document.getElementById('status');
  const form = document.getElementById('picture-form');
  if (!status || (!list && !form)) return;
  let last = 0;
  let stream = null;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function when(ms) {
    if (!ms) return '';
    return new Date(ms).toLocaleString('en-GB', {
      day: 'numeric', month: 'short', year: 'numeric',
      hour: '2-digit', minute: '2-digit',
    });
  }

  function span(ms) {
    const min = Math.floor(ms / 60000);
    const d = Math.floor(min / 1440);
    const h = Math.floor((min % 1440) / 60);
    const m = min % 60;
    if (d > 0) return d + ' d ' + h + ' h';
    if (h > 0) return h + ' h ' + m + ' min';
    return m + ' min';
  }

  function words(name) {
    return String(name || '').toLowerCase().replace(/_/g, ' ');
  }

  function setStatus(text, down) {
    status.textContent = text;
    status.classList.toggle('down', !!down);
  }

  // The strategy discussion's due time: working days left (from the
  // console, on the s47 calendar), and a countdown kept current here.
  function dueLine(t, li) {
    const p = el('p', 'due');
    p.dataset.due = String(t.discussion_due_by || 0);
    p.dataset.wd = t.working_days_remaining === null ||
      t.working_days_remaining === undefined ? '' : String(t.working_days_remaining);
    refreshDue(p, li);
    return p;
  }

  function refreshDue(p, li) {
    const due = Number(p.dataset.due);
    if (!due) {
      p.textContent = 'No strategy-discussion time set.';
      return;
    }
    const left = due - Date.now();
    const overdue = left <= 0;
    p.classList.toggle('overdue', overdue);
    if (li) li.classList.toggle('overdue', overdue);
    if (overdue) {
      p.textContent = 'Strategy discussion OVERDUE since ' + when(due) +
        ' (' + span(-left) + ' ago)';
      return;
    }
    const wd = p.dataset.wd;
    p.textContent = 'Strategy discussion due by ' + when(due) + ': ' +
      (wd !== '' ? wd + ' working day' + (wd === '1' ? '' : 's') + ', ' : '') +
      span(left) + ' left';
  }

  function fields(obj) {
    const keys = Object.keys(obj || {});
    if (keys.length === 0) return null;
    const dl = el('dl', 'fields');
    keys.sort().forEach(function (k) {
      dl.appendChild(el('dt', null, words(k)));
      dl.appendChild(el('dd', null, obj[k]));
    });
    return dl;
  }

  const DELIVERY = {
    delivered: 'Delivered to your inbox',
    queued: 'Queued for your inbox',
    retrying: 'Your inbox copy is being retried',
    failed: 'Your inbox copy failed (dead letter)',
    dropped: 'Your inbox copy was dropped by an operator',
    held: 'Held: you have no encryption key yet',
    released: 'Released from hold to your inbox'
  };

  function recordItem(r) {
    const li = el('li', 'record sevl-' + (r.severity | 0));
    const h = el('h3');
    h.appendChild(el('span', 'badge sev-' + (r.severity | 0), 'Severity ' + (r.severity | 0)));
    h.appendChild(document.createTextNode(' ' + r.agency + ': ' + words(r.category)));
    li.appendChild(h);
    const meta = el('p', 'meta');
    meta.appendChild(el('span', null, 'Occurred ' + (r.occurred_date || '')));
    meta.appendChild(el('span', null, 'Shared under ' + r.rule_id));
    if (r.legal_basis) meta.appendChild(el('span', null, r.legal_basis));
    li.appendChild(meta);
    const fl = r.fields || {};
    if (fl.summary) li.appendChild(el('p', 'summary', fl.summary));
    else if (fl.signpost) li.appendChild(el('p', 'summary', fl.signpost));
    const f = fields(fl);
    if (f) {
      // Every shared field, one click away: the list stays scannable.
      const det = el('details');
      det.appendChild(el('summary', null, 'Shared fields (' + Object.keys(fl).length + ')'));
      det.appendChild(f);
      li.appendChild(det);
    }
    if (r.withheld && r.withheld.length) {
      const by = r.withheld_by || {};
      const parts = Object.keys(by).map(function (rule) {
        return by[rule].map(words).join(', ') + ' (by ' + rule + ')';
      });
      li.appendChild(el('p', 'withheld', 'Withheld: ' +
        (parts.length ? parts.join('; ') : r.withheld.map(words).join(', '))));
    }
    if (r.flags && r.flags.length) li.appendChild(el('p', 'meta', 'Flags: ' + r.flags.join(', ')));
    return li;
  }

  function triggerItem(t) {
    const li = el('li', 'trigger');
    li.appendChild(el('h3', null, 'Section 47 strategy discussion: ' + (t.kind || 'raised')));
    const meta = el('p', 'meta');
    meta.appendChild(el('span', null, 'Case ' + t.case_id));
    meta.appendChild(el('span', null, 'Rule ' + t.rule_id));
    meta.appendChild(el('span', null, 'Raised ' + when(t.raised_at)));
    li.appendChild(meta);
    li.appendChild(el('p', null, t.reason));
    li.appendChild(dueLine(t, li));
    if (t.required_attendees && t.required_attendees.length)
      li.appendChild(el('p', 'meta', 'Attendees: ' + t.required_attendees.join(', ')));
    return li;
  }

  function pictureItem(p) {
    const li = el('li', 'picture');
    li.appendChild(el('h3', null, 'Picture answer: ' + p.status));
    if (p.denied_reason) li.appendChild(el('p', null, p.denied_reason));
    return li;
  }

  function itemOf(d) {
    let li;
    if (d.record) li = recordItem(d.record);
    else if (d.trigger) li = triggerItem(d.trigger);
    else if (d.picture) li = pictureItem(d.picture);
    else li = el('li', null, d.type);
    li.dataset.id = String(d.id);
    li.appendChild(el('p', 'meta', 'Received ' + when(d.received_ms)));
    return li;
  }

  function add(d) {
    if (d.id <= last) return false; // already shown (a stream resumed)
    last = d.id;
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    list.insertBefore(itemOf(d), list.firstChild);
    return true;
  }

  function signedOut() {
    window.location.assign('/');
  }

  function listen() {
    stream = new EventSource('/api/events?after=' + last);
    stream.addEventListener('open', function () {
      setStatus('Live: new deliveries appear at the top.', false);
    });
    stream.addEventListener('delivery', function (e) {
      if (add(JSON.parse(e.data)))
        setStatus('New delivery at ' + when(Date.now()) + '. Live.', false);
    });
    stream.addEventListener('error', function () {
      if (stream.readyState !== EventSource.CLOSED) {
        setStatus('Connection lost: reconnecting...', true);
        return;
      }
      // Closed for good: the session ended, or the console went away.
      fetch('/api/inbox', { credentials: 'same-origin' }).then(function (r) {
        if (r.status === 401) signedOut();
        else {
          setStatus('Connection lost: reconnecting...', true);
          setTimeout(listen, 3000);
        }
      }, function () {
        setStatus('The console cannot be reached.', true);
        setTimeout(listen, 5000);
      });
    });
  }

  // ---- the case picture page ------------------------------------------
  const LEVELS = {
    1: 'L1 universal', 2: 'L2 early help', 3: 'L3 child in need (s17)',
    4: 'L4 child protection (s47)',
  };

  function pictureRecord(r) {
    const li = el('li', 'record sevl-' + (r.severity | 0));
    const h = el('h5');
    h.appendChild(el('span', 'badge sev-' + (r.severity | 0), 'Severity ' + (r.severity | 0)));
    h.appendChild(document.createTextNode(' ' + words(r.category)));
    li.appendChild(h);
    li.appendChild(el('p', 'meta', (r.occurred_date || '') + ' · shared under ' + r.rule_id));
    // Your own inbox copy (issue 31): delivered only once the broker
    // acknowledged it; otherwise the state it is in.
    // Only the states named above: the value never becomes a class or a
    // text by itself (an inherited name like "constructor" is not one).
    if (Object.prototype.hasOwnProperty.call(DELIVERY, r.delivery || ''))
      li.appendChild(el('p', 'delivery dlv-' + r.delivery, DELIVERY[r.delivery]));
    const fl = r.fields || {};
    if (fl.summary) li.appendChild(el('p', 'summary', fl.summary));
    if (fl.signpost) li.appendChild(el('p', 'signpost', 'Signpost: ' + fl.signpost));
    const by = r.withheld_by || {};
    Object.keys(by).forEach(function (rule) {
      li.appendChild(el('p', 'withheld', 'Withheld by ' + rule + ': ' + by[rule].map(words).join(', ')));
    });
    if (!Object.keys(by).length && r.withheld && r.withheld.length)
      li.appendChild(el('p', 'withheld', 'Withheld: ' + r.withheld.map(words).join(', ')));
    if (r.flags && r.flags.length) li.appendChild(el('p', 'meta', 'Flags: ' + r.flags.join(', ')));
    return li;
  }

  function showPicture(p, out) {
    out.textContent = '';
    if (p.status === 'denied') {
      out.appendChild(el('p', 'alert', 'Refused: ' + p.denied_reason));
      return;
    }
    if (p.break_glass)
      out.appendChild(el('p', 'alert', 'Opened by break-glass: this view is audited and reviewed.'));
    if (p.break_glass_refused)
      out.appendChild(el('p', 'alert', 'Break-glass refused: ' + p.break_glass_refused));
    const head = el('section', 'child');
    head.setAttribute('aria-label', 'The child');
    const sj = p.subject || {};
    const name = [sj.given_name, sj.family_name].filter(Boolean).join(' ');
    head.appendChild(el('h3', null, name || 'Identity withheld'));
    const dl = el('dl', 'fields');
    [['NHS number', sj.nhs_number], ['Date of birth', sj.date_of_birth], ['Postcode', sj.postcode],
      ['Case', p.case_id], ['Threshold', LEVELS[p.level] || String(p.level)],
      ['VCL band', p.vcl_band || 'none'], ['Risk Management Group', p.rmg_register ? 'on the register' : 'not on the register'],
      ['Agencies involved', (p.agencies_involved || []).join(', ')]].forEach(function (kv) {
      if (!kv[1]) return;
      dl.appendChild(el('dt', null, kv[0]));
      dl.appendChild(el('dd', null, kv[1]));
    });
    head.appendChild(dl);
    out.appendChild(head);
    if (p.open_triggers && p.open_triggers.length) {
      out.appendChild(el('h3', null, 'Open strategy-discussion triggers'));
      const ol = el('ol', 'items');
      p.open_triggers.forEach(function (t) { ol.appendChild(triggerItem(t)); });
      out.appendChild(ol);
    }
    out.appendChild(el('h3', null, 'Timeline by agency'));
    const lanes = el('div', 'lanes');
    const by = {};
    (p.records || []).forEach(function (r) { (by[r.agency] = by[r.agency] || []).push(r); });
    Object.keys(by).sort().forEach(function (agency) {
      const lane = el('section', 'lane');
      lane.setAttribute('aria-label', agency);
      lane.appendChild(el('h4', null, agency));
      const ol = el('ol', 'items');
      by[agency].sort(function (a, b) { return a.occurred_at - b.occurred_at; })
        .forEach(function (r) { ol.appendChild(pictureRecord(r)); });
      lane.appendChild(ol);
      lanes.appendChild(lane);
    });
    if (!Object.keys(by).length) lanes.appendChild(el('p', 'empty', 'No record is shared with you for this purpose.'));
    out.appendChild(lanes);
  }

  // Break-glass (sharing policy rule 8): offered only when the hub says
  // the role has it, only with a reason, and always audited by mashd.
  function breakGlassOffer(p, out, ask) {
    if (!p.break_glass_available || p.break_glass) return;
    const dlg = document.getElementById('bg-dialog');
    const btn = el('button', 'danger', 'Break glass...');
    btn.type = 'button';
    btn.id = 'bg-open';
    btn.addEventListener('click', function () {
      document.getElementById('bg-reason').value = '';
      dlg.showModal();
    });
    const p0 = el('p');
    p0.appendChild(btn);
    out.insertBefore(p0, out.firstChild);
    dlg.onsubmit = function (e) {
      if (e.submitter && e.submitter.value === 'cancel') return;
      const reason = document.getElementById('bg-reason').value.trim();
      if (reason.length < 10) {
        e.preventDefault();
        document.getElementById('bg-reason').setCustomValidity('Say why, in at least 10 characters.');
        document.getElementById('bg-reason').reportValidity();
        return;
      }
      ask(reason);
    };
  }

  if (form) {
    const out = document.getElementById('picture');
    const reasonBox = document.getElementById('bg-reason');
    if (reasonBox) reasonBox.addEventListener('input', function () { reasonBox.setCustomValidity(''); });
    const ask = function (breakGlass) {
      setStatus('Asking the hub...', false);
      const body = new URLSearchParams(new FormData(form));
      if (breakGlass) body.set('break_glass_reason', breakGlass);
      fetch('/api/picture', {
        method: 'POST', credentials: 'same-origin', body: body,
      }).then(function (r) {
        if (r.status === 401) { signedOut(); return null; }
        return r.json().then(function (doc) { return { ok: r.ok, doc: doc }; });
      }).then(function (res) {
        if (!res) return;
        if (!res.ok) { setStatus(res.doc.error || 'The request failed.', true); return; }
        showPicture(res.doc, out);
        breakGlassOffer(res.doc, out, ask);
        setStatus(res.doc.status === 'denied' ? 'The hub refused this request.' : 'Picture shown (this request is audited).', res.doc.status === 'denied');
        const h = out.querySelector('h3, p.alert');
        if (h) { h.tabIndex = -1; h.focus(); }
      }, function () { setStatus('The console cannot be reached.', true); });
    };
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      ask(null);
    });
    return;
  }

  fetch('/api/inbox', { credentials: 'same-origin' }).then(function (r) {
    if (r.status === 401) {
      signedOut();
      return null;
    }
    return r.json();
  }).then(function (doc) {
    if (!doc) return;
    list.textContent = '';
    if (!doc.items.length) list.appendChild(el('li', 'empty', 'Nothing yet.'));
    doc.items.forEach(add);
    if (doc.refused > 0)
      setStatus(doc.refused + ' delivery(ies) failed verification and are not shown.', true);
    listen();
  }, function () {
    setStatus('The console cannot be reached.', true);
  });

  setInterval(function () {
    list.querySelectorAll('p.due').forEach(function (p) {
      refreshDue(p, p.parentElement);
    });
  }, 30000);
})();
