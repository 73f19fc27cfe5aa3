/* SPDX-License-Identifier: MIT */
/*
 * entrypoints-query --format yaml: the data of --format json, written with
 * libyaml's emitter.
 */
#ifndef EPCACHE_OUTPUT_YAML_H
#define EPCACHE_OUTPUT_YAML_H

#include <stdio.h>

#include "epcache.h"

/*
 * One YAML document on @fp: a sequence of {group, name, value, dist: {name,
 * version}} (NULL @sel: an empty sequence). Returns 0, -ENOMEM, -EIO when
 * @fp cannot be written, or -EILSEQ for a string that is not UTF-8, which
 * YAML cannot carry.
 */
int output_yaml_entries(FILE *fp, const struct epcache_selection *sel);

/* As output_yaml_entries(), a sequence of {path, status, reason}. */
int output_yaml_status(FILE *fp, const struct epcache_lookup *lookup);

#endif
