/* Unit tests for src/metrics/registry.c: the exposition text (HELP/TYPE
 * once per family, escaping, cumulative histograms) and the collector
 * registry. */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/registry.h"

static char *render(struct vd_metrics_out *o)
{
	char *text = NULL;
	size_t len = 0;
	cr_assert_eq(vd_metrics_out_render(o, &text, &len), 0);
	cr_assert_eq(strlen(text), len);
	return text;
}

Test(registry, families_merge_across_collectors)
{
	struct vd_metrics_out *o = vd_metrics_out_new();
	struct vd_metrics_family *a = vd_metrics_family(
		o, "vipdns_queries_total", VD_METRICS_COUNTER, "Queries.");
	vd_metrics_sample_u64(a, (struct vd_metrics_label[]){{"dataplane", "socket"}},
			      1, 5);
	vd_metrics_sample(vd_metrics_family(o, "vipdns_other", VD_METRICS_GAUGE,
					    "x"), NULL, 0, 1.5);
	/* a second collector feeding the same family */
	struct vd_metrics_family *b = vd_metrics_family(
		o, "vipdns_queries_total", VD_METRICS_COUNTER, "ignored");
	cr_assert_eq(a, b);
	vd_metrics_sample_u64(b, (struct vd_metrics_label[]){{"dataplane", "xdp"}},
			      1, 18446744073709551615ull);
	char *t = render(o);
	cr_assert_str_eq(t,
		"# HELP vipdns_queries_total Queries.\n"
		"# TYPE vipdns_queries_total counter\n"
		"vipdns_queries_total{dataplane=\"socket\"} 5\n"
		"vipdns_queries_total{dataplane=\"xdp\"} 18446744073709551615\n"
		"# HELP vipdns_other x\n"
		"# TYPE vipdns_other gauge\n"
		"vipdns_other 1.5\n");
	free(t);
	vd_metrics_out_free(o);
}

Test(registry, type_conflict_and_bad_names)
{
	struct vd_metrics_out *o = vd_metrics_out_new();
	cr_assert_not_null(vd_metrics_family(o, "m_total", VD_METRICS_COUNTER, ""));
	cr_assert_null(vd_metrics_family(o, "m_total", VD_METRICS_GAUGE, ""));
	cr_assert_null(vd_metrics_family(o, "9lives", VD_METRICS_GAUGE, ""));
	cr_assert_null(vd_metrics_family(o, "a-b", VD_METRICS_GAUGE, ""));
	/* samples with NULL families or bad label names are no-ops */
	vd_metrics_sample(NULL, NULL, 0, 1);
	struct vd_metrics_family *f =
		vd_metrics_family(o, "g", VD_METRICS_GAUGE, "");
	vd_metrics_sample(f, (struct vd_metrics_label[]){{"bad-label", "x"}}, 1, 1);
	vd_metrics_sample(f, (struct vd_metrics_label[]){{"__reserved", "x"}}, 1,
			  1);
	char *t = render(o);
	cr_assert_null(strstr(t, "bad-label"));
	cr_assert_null(strstr(t, "__reserved"));
	free(t);
	vd_metrics_out_free(o);
}

Test(registry, escaping_and_special_values)
{
	struct vd_metrics_out *o = vd_metrics_out_new();
	struct vd_metrics_family *f = vd_metrics_family(
		o, "vipdns_x", VD_METRICS_GAUGE, "line\nback\\slash");
	vd_metrics_sample(f, (struct vd_metrics_label[]){{"v", "a\"b\\c\nd"}}, 1,
			  NAN);
	vd_metrics_sample(f, (struct vd_metrics_label[]){{"v", "inf"}}, 1,
			  INFINITY);
	vd_metrics_sample(f, (struct vd_metrics_label[]){{"v", "small"}}, 1,
			  0.00025);
	char *t = render(o);
	cr_assert(strstr(t, "# HELP vipdns_x line\\nback\\\\slash\n"), "%s", t);
	cr_assert(strstr(t, "vipdns_x{v=\"a\\\"b\\\\c\\nd\"} NaN\n"), "%s", t);
	cr_assert(strstr(t, "vipdns_x{v=\"inf\"} +Inf\n"), "%s", t);
	cr_assert(strstr(t, "vipdns_x{v=\"small\"} 0.00025\n"), "%s", t);
	free(t);
	vd_metrics_out_free(o);
}

Test(registry, histogram_is_cumulative)
{
	struct vd_metrics_out *o = vd_metrics_out_new();
	struct vd_metrics_family *f = vd_metrics_family(
		o, "vipdns_t_seconds", VD_METRICS_HISTOGRAM, "t");
	const double bounds[] = {0.001, 0.01, 0.1};
	const uint64_t counts[] = {3, 0, 2, 1}; /* last: above 0.1 */
	vd_metrics_histogram(f, (struct vd_metrics_label[]){{"k", "v"}}, 1,
			     bounds, counts, 3, 1.25);
	char *t = render(o);
	cr_assert_str_eq(t,
		"# HELP vipdns_t_seconds t\n"
		"# TYPE vipdns_t_seconds histogram\n"
		"vipdns_t_seconds_bucket{k=\"v\",le=\"0.001\"} 3\n"
		"vipdns_t_seconds_bucket{k=\"v\",le=\"0.01\"} 3\n"
		"vipdns_t_seconds_bucket{k=\"v\",le=\"0.1\"} 5\n"
		"vipdns_t_seconds_bucket{k=\"v\",le=\"+Inf\"} 6\n"
		"vipdns_t_seconds_sum{k=\"v\"} 1.25\n"
		"vipdns_t_seconds_count{k=\"v\"} 6\n");
	free(t);
	vd_metrics_out_free(o);
}

static void collect_a(void *arg, struct vd_metrics_out *o)
{
	vd_metrics_sample(vd_metrics_family(o, "a", VD_METRICS_GAUGE, ""), NULL,
			  0, *(double *)arg);
}

Test(registry, collectors)
{
	double v = 7;
	cr_assert_eq(vd_metrics_register("a", collect_a, &v), 0);
	cr_assert_eq(vd_metrics_register("a", collect_a, &v), -EEXIST);
	struct vd_metrics_out *o = vd_metrics_out_new();
	vd_metrics_collect_all(o);
	char *t = render(o);
	cr_assert(strstr(t, "\na 7\n"), "%s", t);
	free(t);
	vd_metrics_out_free(o);
	vd_metrics_unregister("a");
	o = vd_metrics_out_new();
	vd_metrics_collect_all(o);
	t = render(o);
	cr_assert_str_eq(t, "");
	free(t);
	vd_metrics_out_free(o);
}
