/* SPDX-License-Identifier: MIT */
/*
 * entrypoints-query --format yaml, through libyaml's emitter: block style,
 * keys in the order of the JSON output, null for an unknown name or
 * version. Whatever YAML library reads it gets what json.loads() gets
 * from --format json.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <yaml.h>

#include "output-yaml.h"

static int
emit(yaml_emitter_t *e, yaml_event_t *ev)
{
	/* yaml_emitter_emit() owns the event, failed or not */
	if (yaml_emitter_emit(e, ev))
		return 0;
	return e->error == YAML_MEMORY_ERROR ? -ENOMEM : -EIO;
}

/*
 * May @s be written plain? The emitter knows when plain is impossible
 * syntactically; it cannot know that a reader would resolve "1.0", "no"
 * or "null" to something else than a string, under YAML 1.1 (PyYAML) or
 * 1.2. Anything that begins like a number, a null, a merge key or a
 * value key is quoted, and so is every boolean and null word.
 */
static bool
plain_is_a_string(const char *s)
{
	static const char *const words[] = {
		"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF",
		"null", "Null", "NULL", NULL,
	};

	if (s[0] == '\0' || strchr("-+.0123456789~<=", s[0]))
		return false;
	for (const char *const *w = words; *w; w++) {
		if (strcmp(s, *w) == 0)
			return false;
	}
	return true;
}

static int
emit_string(yaml_emitter_t *e, const char *s)
{
	yaml_event_t ev;

	if (!s) {
		yaml_scalar_event_initialize(&ev, NULL, NULL,
					     (yaml_char_t *)"null", 4, 1, 1,
					     YAML_PLAIN_SCALAR_STYLE);
		return emit(e, &ev);
	}
	/* This fails for text that is not UTF-8 (or when a copy of it cannot
	 * be made, which the emitter would fail on next anyway). */
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL,
					  (yaml_char_t *)s, (int)strlen(s), 1,
					  1,
					  plain_is_a_string(s) ?
						  YAML_PLAIN_SCALAR_STYLE :
						  YAML_SINGLE_QUOTED_SCALAR_STYLE))
		return -EILSEQ;
	return emit(e, &ev);
}

static int
emit_pair(yaml_emitter_t *e, const char *key, const char *value)
{
	int rc = emit_string(e, key);

	return rc < 0 ? rc : emit_string(e, value);
}

static int
emit_mapping_start(yaml_emitter_t *e)
{
	yaml_event_t ev;

	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
					    YAML_BLOCK_MAPPING_STYLE);
	return emit(e, &ev);
}

static int
emit_mapping_end(yaml_emitter_t *e)
{
	yaml_event_t ev;

	yaml_mapping_end_event_initialize(&ev);
	return emit(e, &ev);
}

/* stream, document and the top sequence */
static int
begin(yaml_emitter_t *e, FILE *fp)
{
	yaml_event_t ev;
	int rc;

	if (!yaml_emitter_initialize(e))
		return -ENOMEM;
	yaml_emitter_set_output_file(e, fp);
	yaml_emitter_set_unicode(e, 1);
	/* no folding of long values: one value, one line */
	yaml_emitter_set_width(e, -1);

	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	rc = emit(e, &ev);
	if (rc < 0)
		return rc;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	rc = emit(e, &ev);
	if (rc < 0)
		return rc;
	yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
					     YAML_BLOCK_SEQUENCE_STYLE);
	return emit(e, &ev);
}

static int
end(yaml_emitter_t *e)
{
	yaml_event_t ev;
	int rc;

	yaml_sequence_end_event_initialize(&ev);
	rc = emit(e, &ev);
	if (rc < 0)
		return rc;
	yaml_document_end_event_initialize(&ev, 1);
	rc = emit(e, &ev);
	if (rc < 0)
		return rc;
	yaml_stream_end_event_initialize(&ev);
	rc = emit(e, &ev);
	if (rc < 0)
		return rc;
	return yaml_emitter_flush(e) ? 0 : -EIO;
}

static int
emit_entry(yaml_emitter_t *e, const struct epcache_entry *entry)
{
	int rc;

	if ((rc = emit_mapping_start(e)) < 0 ||
	    (rc = emit_pair(e, "group", epcache_entry_get_group(entry))) < 0 ||
	    (rc = emit_pair(e, "name", epcache_entry_get_name(entry))) < 0 ||
	    (rc = emit_pair(e, "value", epcache_entry_get_value(entry))) < 0 ||
	    (rc = emit_string(e, "dist")) < 0 ||
	    (rc = emit_mapping_start(e)) < 0 ||
	    (rc = emit_pair(e, "name",
			    epcache_entry_get_dist_name(entry))) < 0 ||
	    (rc = emit_pair(e, "version",
			    epcache_entry_get_dist_version(entry))) < 0 ||
	    (rc = emit_mapping_end(e)) < 0)
		return rc;
	return emit_mapping_end(e);
}

int
output_yaml_entries(FILE *fp, const struct epcache_selection *sel)
{
	size_t n = sel ? epcache_selection_get_count(sel) : 0;
	yaml_emitter_t e;
	int rc;

	rc = begin(&e, fp);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = emit_entry(&e, epcache_selection_get_entry(sel, i));
	if (rc == 0)
		rc = end(&e);
	yaml_emitter_delete(&e);
	return rc;
}

int
output_yaml_status(FILE *fp, const struct epcache_lookup *lookup)
{
	size_t n = lookup ? epcache_lookup_get_path_count(lookup) : 0;
	yaml_emitter_t e;
	int rc;

	rc = begin(&e, fp);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		enum epcache_status status =
			epcache_lookup_get_path_status(lookup, i);

		if ((rc = emit_mapping_start(&e)) < 0 ||
		    (rc = emit_pair(&e, "path",
				    epcache_lookup_get_path(lookup, i))) < 0 ||
		    (rc = emit_pair(&e, "status",
				    epcache_status_to_str(status))) < 0 ||
		    (rc = emit_pair(&e, "reason",
				    epcache_lookup_get_path_reason(lookup,
								   i))) < 0)
			break;
		rc = emit_mapping_end(&e);
	}
	if (rc == 0)
		rc = end(&e);
	yaml_emitter_delete(&e);
	return rc;
}
