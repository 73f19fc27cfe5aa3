/* SPDX-License-Identifier: MIT */
/*
 * A small string set, for deduplicating distributions by normalized name.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"

uint64_t
ep_hash_str(const char *s)
{
	/* FNV-1a: short keys, no adversary that could degrade it usefully
	 * (a directory's own names only slow down that directory's scan). */
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static size_t
find_slot(char *const *slots, const uint64_t *hashes, size_t cap,
	  const char *key, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);

	while (slots[i] && (hashes[i] != h || strcmp(slots[i], key) != 0))
		i = (i + 1) & (cap - 1);
	return i;
}

static int
grow(struct ep_strset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	char **slots = calloc(cap, sizeof(*slots));
	size_t *vals = calloc(cap, sizeof(*vals));
	uint64_t *hashes = calloc(cap, sizeof(*hashes));

	if (!slots || !vals || !hashes) {
		free(slots);
		free(vals);
		free(hashes);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (s->slots[i]) {
			/* keys are unique: the first empty slot */
			size_t j = (size_t)s->hashes[i] & (cap - 1);

			while (slots[j])
				j = (j + 1) & (cap - 1);
			slots[j] = s->slots[i];
			vals[j] = s->vals[i];
			hashes[j] = s->hashes[i];
		}
	}
	free(s->slots);
	free(s->vals);
	free(s->hashes);
	s->slots = slots;
	s->vals = vals;
	s->hashes = hashes;
	s->cap = cap;
	return 0;
}

int
ep_strset_add(struct ep_strset *s, const char *key)
{
	return ep_strset_put(s, key, 0);
}

int
ep_strset_put(struct ep_strset *s, const char *key, size_t value)
{
	uint64_t h = ep_hash_str(key);
	size_t i;
	char *copy;
	int rc;

	if ((s->n + 1) * 4 >= s->cap * 3 && (rc = grow(s)) < 0)
		return rc;
	i = find_slot(s->slots, s->hashes, s->cap, key, h);
	if (s->slots[i])
		return 0;
	copy = s->borrowed ? (char *)key : strdup(key);
	if (!copy)
		return -ENOMEM;
	s->slots[i] = copy;
	s->vals[i] = value;
	s->hashes[i] = h;
	s->n++;
	return 1;
}

bool
ep_strset_has(const struct ep_strset *s, const char *key)
{
	if (!s->cap)
		return false;
	return s->slots[find_slot(s->slots, s->hashes, s->cap, key,
				  ep_hash_str(key))] != NULL;
}

bool
ep_strset_get(const struct ep_strset *s, const char *key, size_t *value)
{
	size_t i;

	if (!s->cap)
		return false;
	i = find_slot(s->slots, s->hashes, s->cap, key, ep_hash_str(key));
	if (!s->slots[i])
		return false;
	*value = s->vals[i];
	return true;
}

void
ep_strset_release(struct ep_strset *s)
{
	for (size_t i = 0; i < s->cap && !s->borrowed; i++)
		free(s->slots[i]);
	free(s->slots);
	free(s->vals);
	free(s->hashes);
	s->slots = NULL;
	s->vals = NULL;
	s->hashes = NULL;
	s->n = s->cap = 0;
	s->borrowed = false;
}
