/*
 * Wheel file names and a minimal zip reader: the end-of-central-directory
 * record, the central directory, then one member's local header and data,
 * every offset checked against the buffer. zlib inflates, crc32 checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "venv/pep508.h"
#include "venv/wheel.h"
#include "xalloc.h"
#include "banned.h"

void
wheel_name_release(struct wheel_name *w)
{
	if (!w)
		return;
	free(w->name);
	free(w->key);
	free(w->version);
	free(w->python);
	free(w->abi);
	free(w->platform);
	memset(w, 0, sizeof(*w));
}

int
wheel_name_parse(struct wheel_name *w, const char *filename)
{
	size_t n = strlen(filename), dashes = 0;
	char *base, *parts[6] = { NULL }, *p;
	size_t np = 0;

	memset(w, 0, sizeof(*w));
	if (n <= 4 || strcmp(filename + n - 4, ".whl"))
		return -1;
	base = xstrndup(filename, n - 4);
	for (p = base; *p; p++)
		dashes += *p == '-';
	if (dashes != 4 && dashes != 5) {
		free(base);
		return -1;
	}
	for (p = base, parts[np++] = p; *p; p++)
		if (*p == '-') {
			*p = '\0';
			parts[np++] = p + 1;
		}
	for (size_t i = 0; i < np; i++)
		if (!*parts[i]) {
			free(base);
			return -1;
		}
	if (strstr(parts[0], "__")) {
		free(base);
		return -1;
	}
	w->name = xstrdup(parts[0]);
	w->key = pep508_normalize_name(parts[0]);
	w->version = xstrdup(parts[1]);
	w->python = xstrdup(parts[np - 3]);
	w->abi = xstrdup(parts[np - 2]);
	w->platform = xstrdup(parts[np - 1]);
	free(base);
	return 0;
}

int
wheel_name_pure_py3(const struct wheel_name *w)
{
	const char *p = w->python;

	if (strcmp(w->abi, "none") || strcmp(w->platform, "any"))
		return 0;
	while (*p) {
		size_t n = strcspn(p, ".");

		if (n >= 3 && !strncmp(p, "py3", 3))
			return 1;
		p += n + (p[n] == '.');
	}
	return 0;
}

static uint32_t
le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t
le32(const unsigned char *p)
{
	return le16(p) | le16(p + 2) << 16;
}

struct zentry {
	const unsigned char *name;
	size_t namelen;
	uint32_t method, flags, crc, csize, usize, offset;
};

/* Walk the central directory; fn returns nonzero to stop (returned). */
static int
zip_walk(const unsigned char *z, size_t len, const char *what,
	 int (*fn)(const struct zentry *, void *), void *arg, struct err *e)
{
	size_t eocd = 0, cd, count, i, pos;
	int found = 0;

	if (len < 22)
		return err_set(e, ERR_BADVALUE, "'%s' is not a zip archive",
			       what);
	for (size_t k = len - 22 + 1; k-- > 0 && len - 22 - k <= 65535;)
		if (le32(z + k) == 0x06054b50) {
			eocd = k;
			found = 1;
			break;
		}
	if (!found)
		return err_set(e, ERR_BADVALUE, "'%s' is not a zip archive",
			       what);
	count = le16(z + eocd + 10);
	cd = le32(z + eocd + 16);
	if (count == 0xffff || cd == 0xffffffff)
		return err_set(e, ERR_BADVALUE, "'%s' is a zip64 archive, "
			       "which owctl cannot read", what);
	if (cd > eocd)
		return err_set(e, ERR_BADVALUE, "'%s': damaged zip archive",
			       what);
	for (i = 0, pos = cd; i < count; i++) {
		struct zentry ze;
		size_t extra, comment;
		int r;

		if (pos + 46 > eocd || le32(z + pos) != 0x02014b50)
			return err_set(e, ERR_BADVALUE, "'%s': damaged zip "
				       "archive", what);
		ze.flags = le16(z + pos + 8);
		ze.method = le16(z + pos + 10);
		ze.crc = le32(z + pos + 16);
		ze.csize = le32(z + pos + 20);
		ze.usize = le32(z + pos + 24);
		ze.namelen = le16(z + pos + 28);
		extra = le16(z + pos + 30);
		comment = le16(z + pos + 32);
		ze.offset = le32(z + pos + 42);
		ze.name = z + pos + 46;
		if (pos + 46 + ze.namelen + extra + comment > eocd)
			return err_set(e, ERR_BADVALUE, "'%s': damaged zip "
				       "archive", what);
		if ((r = fn(&ze, arg)))
			return r;
		pos += 46 + ze.namelen + extra + comment;
	}
	return 0;
}

/* The member's bytes, uncompressed into out (at most max). */
static int
zip_extract(const unsigned char *z, size_t len, const char *what,
	    const struct zentry *ze, size_t max, struct sbuf *out,
	    struct err *e)
{
	size_t data, start = out->len;
	z_stream zs;
	int zr;

	if (ze->flags & 1)
		return err_set(e, ERR_BADVALUE, "'%s': encrypted member",
			       what);
	if (ze->usize > max)
		return err_set(e, ERR_BADVALUE, "'%s': member '%.*s' is larger "
			       "than %zu bytes", what, (int)ze->namelen,
			       (const char *)ze->name, max);
	if ((size_t)ze->offset + 30 > len ||
	    le32(z + ze->offset) != 0x04034b50)
		return err_set(e, ERR_BADVALUE, "'%s': damaged zip archive",
			       what);
	data = (size_t)ze->offset + 30 + le16(z + ze->offset + 26) +
	       le16(z + ze->offset + 28);
	if (data > len || len - data < ze->csize)
		return err_set(e, ERR_BADVALUE, "'%s': damaged zip archive",
			       what);
	if (ze->method == 0) {
		if (ze->csize != ze->usize)
			return err_set(e, ERR_BADVALUE, "'%s': damaged zip "
				       "archive", what);
		sbuf_add(out, z + data, ze->usize);
	} else if (ze->method == 8) {
		sbuf_grow(out, ze->usize + 1);
		memset(&zs, 0, sizeof(zs));
		if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
			return err_set(e, ERR_FAIL, "zlib: cannot initialise");
		zs.next_in = (unsigned char *)(uintptr_t)(z + data);
		zs.avail_in = ze->csize;
		zs.next_out = (unsigned char *)out->buf + out->len;
		zs.avail_out = ze->usize + 1;	/* room to notice more */
		zr = inflate(&zs, Z_FINISH);
		inflateEnd(&zs);
		if (zr != Z_STREAM_END || zs.total_out != ze->usize)
			return err_set(e, ERR_BADVALUE, "'%s': member '%.*s' "
				       "does not inflate", what,
				       (int)ze->namelen,
				       (const char *)ze->name);
		sbuf_setlen(out, out->len + ze->usize);
	} else {
		return err_set(e, ERR_BADVALUE, "'%s': compression method %u "
			       "is not supported", what, (unsigned)ze->method);
	}
	if (crc32(0L, (const unsigned char *)out->buf + start, ze->usize) !=
	    ze->crc) {
		sbuf_setlen(out, start);
		return err_set(e, ERR_BADVALUE, "'%s': member '%.*s' fails its "
			       "CRC check", what, (int)ze->namelen,
			       (const char *)ze->name);
	}
	return 0;
}

struct find {
	const char *name;	/* exact name, or NULL: */
	const char *suffix;	/* a top-level "X.dist-info/" + suffix */
	struct zentry found;
	int have;
};

static int
find_fn(const struct zentry *ze, void *arg)
{
	struct find *f = arg;
	const char *n = (const char *)ze->name;

	if (f->name) {
		if (ze->namelen == strlen(f->name) &&
		    !memcmp(n, f->name, ze->namelen))
			goto hit;
		return 0;
	} else {
		static const char di[] = ".dist-info/";
		size_t sl = strlen(f->suffix), k = sizeof(di) - 1;
		const void *slash;

		if (ze->namelen <= sl + k ||
		    memcmp(n + ze->namelen - sl, f->suffix, sl) ||
		    memcmp(n + ze->namelen - sl - k, di, k))
			return 0;
		slash = memchr(n, '/', ze->namelen - sl);
		if (slash != n + ze->namelen - sl - 1)
			return 0;	/* not at the top level */
		goto hit;
	}
hit:
	f->found = *ze;
	f->have = 1;
	return 1;
}

static int
read_found(const void *zip, size_t len, const char *what, struct find *f,
	   size_t max, struct sbuf *out, struct err *e)
{
	int r = zip_walk(zip, len, what, find_fn, f, e);

	if (r < 0)
		return -1;
	if (!f->have)
		return 0;
	if (zip_extract(zip, len, what, &f->found, max, out, e) < 0)
		return -1;
	return 1;
}

int
wheel_read_member(const void *zip, size_t len, const char *what,
		  const char *name, size_t max, struct sbuf *out,
		  struct err *e)
{
	struct find f = { name, NULL, { 0 }, 0 };

	return read_found(zip, len, what, &f, max, out, e);
}

int
wheel_metadata(const void *zip, size_t len, const char *what,
	       struct sbuf *metadata, struct sbuf *top_level, struct err *e)
{
	struct find f = { NULL, "METADATA", { 0 }, 0 };
	struct find t = { NULL, "top_level.txt", { 0 }, 0 };
	int r;

	r = read_found(zip, len, what, &f, 8u << 20, metadata, e);
	if (r == 0)
		return err_set(e, ERR_BADVALUE, "'%s' has no "
			       "*.dist-info/METADATA", what);
	if (r < 0)
		return -1;
	if (top_level &&
	    read_found(zip, len, what, &t, 1u << 20, top_level, e) < 0)
		return -1;
	return 0;
}
