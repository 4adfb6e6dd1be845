/* Unit tests for src/core/atomic_file.c: a file is replaced whole or not
 * at all, with exactly the mode asked for. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vd-atomic-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("old\n", f);
	fclose(f);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static const char *content(void)
{
	static char buf[64];
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int files_in_dir(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", dir);
	return system(cmd) == 0 ? 1 : 0;
}

Test(atomic_file, commit_replaces_with_the_mode_asked, .init = setup,
     .fini = teardown)
{
	struct vd_atomic_file af;
	mode_t old = umask(077);
	cr_assert_eq(vd_atomic_open(&af, path, 0644), 0);
	umask(old);
	fputs("new\n", af.f);
	cr_assert_str_eq(content(), "old\n", "replaced before commit");
	cr_assert_eq(vd_atomic_commit(&af), 0);
	cr_assert_str_eq(content(), "new\n");
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644, "mode %o", st.st_mode & 0777);
	cr_assert(files_in_dir(), "a temporary was left behind");
}

Test(atomic_file, abort_keeps_the_old_file, .init = setup, .fini = teardown)
{
	struct vd_atomic_file af;
	cr_assert_eq(vd_atomic_open(&af, path, 0600), 0);
	fputs("half", af.f);
	vd_atomic_abort(&af);
	cr_assert_str_eq(content(), "old\n");
	cr_assert(files_in_dir(), "a temporary was left behind");
}

Test(atomic_file, refuses_a_symlink_planted_at_the_temporary, .init = setup,
     .fini = teardown)
{
	char tmp[200], target[128];
	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	cr_assert_eq(symlink(target, tmp), 0);
	struct vd_atomic_file af;
	cr_assert_eq(vd_atomic_open(&af, path, 0600), -ELOOP);
	cr_assert_eq(access(target, F_OK), -1, "wrote through the symlink");
	cr_assert_str_eq(content(), "old\n");
}

Test(atomic_file, a_missing_directory_is_an_error)
{
	struct vd_atomic_file af;
	cr_assert_eq(vd_atomic_open(&af, "/nonexistent-vd/dir/f", 0600),
		     -ENOENT);
}
