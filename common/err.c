#include "common/err.h"

const char *
mash_strerror(int rc)
{
	switch (rc) {
#define MASH_ERR_MSG(name, val, msg)                                           \
	case (val):                                                            \
		return (msg);
		MASH_ERR_MAP(MASH_ERR_MSG)
#undef MASH_ERR_MSG
	}
	return "unknown error";
}

const char *
mash_file_strerror(int rc)
{
	if (rc == MASH_ERR_NOT_FOUND)
		return "no such file";
	if (rc == MASH_ERR_IO)
		return "cannot read";
	return mash_strerror(rc);
}

const char *
mash_errname(int rc)
{
	switch (rc) {
#define MASH_ERR_NAME(name, val, msg)                                          \
	case (val):                                                            \
		return #name;
		MASH_ERR_MAP(MASH_ERR_NAME)
#undef MASH_ERR_NAME
	}
	return "UNKNOWN";
}
