/*
 * src/resolve/nta.c: negative trust anchors are bounded in number and
 * lifetime, survive a restart through their file (written atomically),
 * and expire by themselves: an anchor nobody removes must not switch
 * validation off for ever.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "dns/query.h"
#include "resolve/nta.h"

#define NOW 1780000000

static size_t wire(const char *s, uint8_t *w)
{
	int n = vd_dns_name_from_str(s, w, VD_DNS_NAME_MAX);
	cr_assert_gt(n, 0, "%s", s);
	return (size_t)n;
}

Test(nta, parse_drops_expired_and_caps_lifetime)
{
	const char text[] = "# comment\n"
			    "Secure.Example. 1780003600\n"
			    "\n"
			    "old.example. 1779999999\n"
			    "far.example. 99999999999\n";
	struct vd_nta t[4];
	unsigned bad = 0;
	int n = vd_nta_parse(text, strlen(text), NOW, t, 4, &bad);
	cr_assert_eq(n, 2);
	uint8_t w[VD_DNS_NAME_MAX];
	size_t l = wire("secure.example.", w);
	cr_assert_eq(t[0].name_len, l);
	cr_assert_eq(memcmp(t[0].name, w, l), 0, "names are lower-cased");
	cr_assert_eq(t[1].expires, NOW + VD_NTA_MAX_SECONDS,
		     "a far expiry is capped to a week");
}

Test(nta, parse_names_the_bad_line)
{
	const char *bad_texts[] = {
		"ok.example. 1780003600\nnoexpiry.example.\n",
		"ok.example. 1780003600\na..b 1780003600\n",
		"ok.example. 1780003600\nx.example. 12x\n",
		"ok.example. 1780003600\nx.example. -1\n",
	};
	for (size_t i = 0; i < 4; i++) {
		struct vd_nta t[4];
		unsigned bad = 0;
		cr_assert_eq(vd_nta_parse(bad_texts[i], strlen(bad_texts[i]), NOW,
					  t, 4, &bad),
			     -EINVAL, "%s", bad_texts[i]);
		cr_assert_eq(bad, 2, "%s", bad_texts[i]);
	}
	/* More anchors than the table holds is refused, not cut. */
	char many[4096] = "";
	for (int i = 0; i < 5; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "n%d.example. 1780003600\n", i);
	struct vd_nta t[4];
	unsigned bad = 0;
	cr_assert_eq(vd_nta_parse(many, strlen(many), NOW, t, 4, &bad), -EINVAL);
}

Test(nta, add_remove_expire_and_persist)
{
	/* vd_nta_init() filters by the real clock: anchors relative to it. */
	int64_t now = (int64_t)time(NULL);
	char path[] = "/tmp/vd-nta-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	unlink(path);
	char err[256] = "";
	cr_assert_eq(vd_nta_init(path, err, sizeof(err)), 0, "missing file: %s",
		     err);
	uint8_t a[VD_DNS_NAME_MAX], b[VD_DNS_NAME_MAX];
	size_t la = wire("secure.example.", a), lb = wire("broken.test.", b);
	cr_assert_eq(vd_nta_add(a, la, 3600, now, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(vd_nta_add(b, lb, 10, now, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vd_nta_add(b, lb, 0, now, err, sizeof(err)), -EINVAL);
	cr_assert_eq(vd_nta_add(b, lb, VD_NTA_MAX_SECONDS + 1, now, err,
				sizeof(err)),
		     -EINVAL);
	struct vd_nta t[VD_NTA_MAX];
	cr_assert_eq(vd_nta_list(t, VD_NTA_MAX, now), 2);

	/* A restart reads the same anchors back from the file. */
	cr_assert_eq(vd_nta_init(path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vd_nta_list(t, VD_NTA_MAX, now), 2);

	/* Past its lifetime an anchor is no longer listed, is due, and
	 * expiring it hands it to the caller (to flush) and saves. */
	cr_assert_not(vd_nta_due(now + 9));
	cr_assert(vd_nta_due(now + 10));
	cr_assert_eq(vd_nta_list(t, VD_NTA_MAX, now + 10), 1);
	cr_assert_eq(vd_nta_expire(t, VD_NTA_MAX, now + 10), 1);
	cr_assert_eq(t[0].name_len, lb);
	cr_assert_eq(vd_nta_init(path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vd_nta_list(t, VD_NTA_MAX, now), 1, "the expiry was saved");

	cr_assert_eq(vd_nta_remove(a, la, err, sizeof(err)), 1);
	cr_assert_eq(vd_nta_remove(a, la, err, sizeof(err)), 0, "already gone");
	cr_assert_eq(vd_nta_init(path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vd_nta_list(t, VD_NTA_MAX, now), 0);

	/* The table is bounded. */
	for (int i = 0; i < VD_NTA_MAX; i++) {
		char name[32];
		uint8_t w[VD_DNS_NAME_MAX];
		snprintf(name, sizeof(name), "n%d.example.", i);
		size_t l = wire(name, w);
		cr_assert_eq(vd_nta_add(w, l, 60, now, err, sizeof(err)), 0);
	}
	uint8_t w[VD_DNS_NAME_MAX];
	size_t l = wire("one-more.example.", w);
	cr_assert_eq(vd_nta_add(w, l, 60, now, err, sizeof(err)), -ENOSPC);

	/* A garbled file costs its anchors, with the line named. */
	FILE *f = fopen(path, "w");
	fputs("ok.example. 99999999999\nbroken\n", f);
	fclose(f);
	cr_assert_eq(vd_nta_init(path, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, ":2:"), "%s", err);
	cr_assert_eq(vd_nta_list(t, VD_NTA_MAX, now), 0);
	unlink(path);
}
