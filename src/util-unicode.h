/* SPDX-License-Identifier: MIT */
/*
 * The generated character tables (unicode-data.c, made by
 * gen-unicode-data.py) as util-unicode.c consumes them. The properties are
 * those of the reference Python's str methods, not of the Unicode files.
 */
#ifndef EP_UTIL_UNICODE_H
#define EP_UTIL_UNICODE_H

#include <stdint.h>

enum ep_uni_flags {
	EP_UNI_ALNUM = 0x01,          /* str.isalnum() */
	EP_UNI_SPACE = 0x02,          /* str.isspace() */
	EP_UNI_LINEBREAK = 0x04,      /* a str.splitlines() boundary */
	EP_UNI_CASED = 0x08,          /* Cased and not Case_Ignorable */
	EP_UNI_CASE_IGNORABLE = 0x10, /* Case_Ignorable */
	EP_UNI_LOWER_SPECIAL = 0x20,  /* str.lower() gives several chars */
};

struct ep_uni_record {
	uint8_t flags;
	int32_t lower_delta; /* chr(cp).lower() == chr(cp + lower_delta) */
};

/* Never NULL: code points out of range get an all-zero record. */
const struct ep_uni_record *ep_uni_record(uint32_t cp);
/* The UTF-8 of chr(cp).lower() for EP_UNI_LOWER_SPECIAL code points. */
const char *ep_uni_lower_special(uint32_t cp);
/* unicodedata.unidata_version of the Python the tables came from */
const char *ep_uni_data_version(void);

#endif /* EP_UTIL_UNICODE_H */
