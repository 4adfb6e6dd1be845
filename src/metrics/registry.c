#include "metrics/registry.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAMILIES 512
#define MAX_COLLECTORS 32
#define NAME_MAX_LEN 128

/* A growable text buffer; an allocation failure sticks (checked once). */
struct tbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void tb_printf(struct tbuf *b,
							    const char *fmt,
							    ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = b->cap - b->len;
		int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

static void tb_putc(struct tbuf *b, char c)
{
	tb_printf(b, "%c", c);
}

struct vd_metrics_family {
	char name[NAME_MAX_LEN];
	enum vd_metrics_type type;
	char *help;
	struct tbuf samples;
};

struct vd_metrics_out {
	struct vd_metrics_family *fam[MAX_FAMILIES];
	size_t n_fam;
};

struct vd_metrics_out *vd_metrics_out_new(void)
{
	return calloc(1, sizeof(struct vd_metrics_out));
}

void vd_metrics_out_free(struct vd_metrics_out *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n_fam; i++) {
		free(o->fam[i]->help);
		free(o->fam[i]->samples.p);
		free(o->fam[i]);
	}
	free(o);
}

static bool valid_name(const char *s, bool colon)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || (colon && c == ':');
		if (!ok)
			return false;
	}
	return true;
}

struct vd_metrics_family *vd_metrics_family(struct vd_metrics_out *o,
					    const char *name,
					    enum vd_metrics_type type,
					    const char *help)
{
	if (!o || !name || strlen(name) >= NAME_MAX_LEN ||
	    !valid_name(name, true))
		return NULL;
	for (size_t i = 0; i < o->n_fam; i++) {
		if (strcmp(o->fam[i]->name, name) == 0)
			return o->fam[i]->type == type ? o->fam[i] : NULL;
	}
	if (o->n_fam >= MAX_FAMILIES)
		return NULL;
	struct vd_metrics_family *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->type = type;
	f->help = strdup(help ? help : "");
	if (!f->help) {
		free(f);
		return NULL;
	}
	o->fam[o->n_fam++] = f;
	return f;
}

/* Label values escape backslash, double quote and newline; HELP text
 * escapes backslash and newline (the exposition format's rules). */
static void put_escaped(struct tbuf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			tb_printf(b, "\\\\");
		else if (*s == '\n')
			tb_printf(b, "\\n");
		else if (quote && *s == '"')
			tb_printf(b, "\\\"");
		else
			tb_putc(b, *s);
	}
}

/* name{l1="v1",...,extra="x"} ; extra is the histogram's le label. */
static bool put_series(struct vd_metrics_family *f, const char *suffix,
		       const struct vd_metrics_label *labels, size_t n,
		       const char *extra_name, const char *extra_value)
{
	for (size_t i = 0; i < n; i++)
		if (!labels[i].name || !labels[i].value ||
		    !valid_name(labels[i].name, false) ||
		    strncmp(labels[i].name, "__", 2) == 0)
			return false;
	struct tbuf *b = &f->samples;
	tb_printf(b, "%s%s", f->name, suffix);
	if (n || extra_name) {
		tb_putc(b, '{');
		for (size_t i = 0; i < n; i++) {
			tb_printf(b, "%s%s=\"", i ? "," : "", labels[i].name);
			put_escaped(b, labels[i].value, true);
			tb_putc(b, '"');
		}
		if (extra_name)
			tb_printf(b, "%s%s=\"%s\"", n ? "," : "", extra_name,
				  extra_value);
		tb_putc(b, '}');
	}
	return true;
}

static void put_double(struct tbuf *b, double v)
{
	if (isnan(v))
		tb_printf(b, "NaN");
	else if (isinf(v))
		tb_printf(b, v > 0 ? "+Inf" : "-Inf");
	else
		tb_printf(b, "%.15g", v);
}

void vd_metrics_sample(struct vd_metrics_family *f,
		       const struct vd_metrics_label *labels, size_t n_labels,
		       double value)
{
	if (!f || !put_series(f, "", labels, n_labels, NULL, NULL))
		return;
	tb_putc(&f->samples, ' ');
	put_double(&f->samples, value);
	tb_putc(&f->samples, '\n');
}

void vd_metrics_sample_u64(struct vd_metrics_family *f,
			   const struct vd_metrics_label *labels,
			   size_t n_labels, uint64_t value)
{
	if (!f || !put_series(f, "", labels, n_labels, NULL, NULL))
		return;
	tb_printf(&f->samples, " %" PRIu64 "\n", value);
}

void vd_metrics_histogram(struct vd_metrics_family *f,
			  const struct vd_metrics_label *labels,
			  size_t n_labels, const double *bounds,
			  const uint64_t *counts, size_t n_bounds, double sum)
{
	if (!f || f->type != VD_METRICS_HISTOGRAM)
		return;
	uint64_t cum = 0;
	char le[64];
	for (size_t i = 0; i <= n_bounds; i++) {
		cum += counts[i];
		if (i < n_bounds)
			snprintf(le, sizeof(le), "%.15g", bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		if (!put_series(f, "_bucket", labels, n_labels, "le", le))
			return;
		tb_printf(&f->samples, " %" PRIu64 "\n", cum);
	}
	put_series(f, "_sum", labels, n_labels, NULL, NULL);
	tb_putc(&f->samples, ' ');
	put_double(&f->samples, sum);
	tb_putc(&f->samples, '\n');
	put_series(f, "_count", labels, n_labels, NULL, NULL);
	tb_printf(&f->samples, " %" PRIu64 "\n", cum);
}

int vd_metrics_out_render(struct vd_metrics_out *o, char **text, size_t *len)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	struct tbuf b = {0};
	for (size_t i = 0; i < o->n_fam; i++) {
		struct vd_metrics_family *f = o->fam[i];
		if (f->samples.oom) {
			b.oom = true;
			break;
		}
		tb_printf(&b, "# HELP %s ", f->name);
		put_escaped(&b, f->help, false);
		tb_printf(&b, "\n# TYPE %s %s\n", f->name, types[f->type]);
		if (f->samples.len)
			tb_printf(&b, "%.*s", (int)f->samples.len, f->samples.p);
	}
	/* An empty scrape is still a valid (empty) document. */
	if (!b.p && !b.oom)
		tb_printf(&b, "%s", "");
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*text = b.p;
	*len = b.len;
	return 0;
}

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char name[32];
	vd_metrics_collect_fn fn;
	void *arg;
} collectors[MAX_COLLECTORS];
static size_t n_collectors;

int vd_metrics_register(const char *name, vd_metrics_collect_fn fn, void *arg)
{
	int rc = 0;
	if (!name || !fn || strlen(name) >= sizeof(collectors[0].name))
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < n_collectors; i++) {
		if (strcmp(collectors[i].name, name) == 0) {
			rc = -EEXIST;
			goto out;
		}
	}
	if (n_collectors >= MAX_COLLECTORS) {
		rc = -ENOSPC;
		goto out;
	}
	snprintf(collectors[n_collectors].name, sizeof(collectors[0].name),
		 "%s", name);
	collectors[n_collectors].fn = fn;
	collectors[n_collectors].arg = arg;
	n_collectors++;
out:
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

void vd_metrics_unregister(const char *name)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < n_collectors; i++) {
		if (strcmp(collectors[i].name, name) == 0) {
			memmove(&collectors[i], &collectors[i + 1],
				(n_collectors - i - 1) * sizeof(collectors[0]));
			n_collectors--;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

void vd_metrics_collect_all(struct vd_metrics_out *o)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < n_collectors; i++)
		collectors[i].fn(collectors[i].arg, o);
	pthread_mutex_unlock(&reg_lock);
}
