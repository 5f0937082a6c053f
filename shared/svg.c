// SPDX-License-Identifier: MIT
// Running Graphviz's dot on the graph and checking the SVG it draws (svg.h).
#include "svg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* What Graphviz's SVG renderer (plugin/core/gvrender_core_svg.c) writes for our graphs. */
/*
 * What Graphviz's SVG renderer (plugin/core/gvrender_core_svg.c) writes for our graphs,
 * each name between '|'.
 */
static const char elements[] = "|svg|g|title|polygon|polyline|ellipse|path|text|";
static const char attributes[] =
	"|id|class|width|height|viewBox|x|y|cx|cy|rx|ry|points|d|fill|stroke|stroke-width"
	"|stroke-dasharray|stroke-opacity|fill-opacity|font-family|font-size|font-weight"
	"|font-style|text-anchor|transform|xmlns|xmlns:xlink|preserveAspectRatio"
	"|text-decoration|";

static bool listed(const char *list, const char *s, size_t n)
{
	char name[64];

	if (!n || n + 3 > sizeof(name))
		return false;
	name[0] = '|';
	memcpy(name + 1, s, n);
	name[n + 1] = '|';
	name[n + 2] = '\0';
	return strstr(list, name) != NULL;
}

static size_t name_len(const char *p)
{
	size_t n = 0;

	while (p[n] && (p[n] == '-' || p[n] == ':' || p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') ||
			(p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9')))
		n++;
	return n;
}

struct adbg_error *adbg_svg_check(const char *svg)
{
	const char *p = svg;
	int depth = 0;

	if (strncmp(p, "<svg", 4) != 0)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "SVG: does not start with <svg");
	while ((p = strchr(p, '<'))) {
		size_t n;
		bool close = false;

		if (strncmp(p, "<!--", 4) == 0) {
			const char *end = strstr(p + 4, "-->");

			if (!end)
				return adbg_error_create(ADBG_ERR_BAD_DATA, "SVG: open comment");
			p = end + 3;
			continue;
		}
		p++;
		if (*p == '/') {
			close = true;
			p++;
		}
		n = name_len(p);
		if (!listed(elements, p, n))
			return adbg_error_create(ADBG_ERR_BAD_DATA, "SVG: element <%.*s> refused",
						 (int)(n ? n : 1), p);
		p += n;
		if (close) {
			p += strspn(p, " \t\r\n");
			if (*p != '>')
				return adbg_error_create(ADBG_ERR_BAD_DATA, "SVG: bad closing tag");
			if (--depth == 0)
				break;
			continue;
		}
		for (;;) {
			char q;
			const char *end;

			p += strspn(p, " \t\r\n");
			if (*p == '>') {
				depth++;
				break;
			}
			if (p[0] == '/' && p[1] == '>')
				break;
			n = name_len(p);
			if (!n || !listed(attributes, p, n))
				return adbg_error_create(ADBG_ERR_BAD_DATA,
							 "SVG: attribute %.*s refused",
							 (int)(n ? (n > 40 ? 40 : n) : 1), p);
			p += n;
			if (*p != '=' || (p[1] != '"' && p[1] != '\''))
				return adbg_error_create(ADBG_ERR_BAD_DATA,
							 "SVG: unquoted attribute");
			q = p[1];
			end = strchr(p + 2, q);
			if (!end || memchr(p + 2, '<', (size_t)(end - p - 2)))
				return adbg_error_create(ADBG_ERR_BAD_DATA,
							 "SVG: bad attribute value");
			p = end + 1;
		}
		if (depth == 0)
			break;
	}
	if (!p || depth)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "SVG: <svg> not closed");
	p = strchr(p, '>') + 1;
	if (p[strspn(p, " \t\r\n")])
		return adbg_error_create(ADBG_ERR_BAD_DATA, "SVG: text after </svg>");
	return NULL;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A memory file holding len bytes of data, at offset 0; -1 with errno on failure. */
static int memfile(const char *name, const char *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		data += w;
		len -= (size_t)w;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* The child's first line of complaint, for the error message. */
static void first_line(int fd, char *buf, size_t len)
{
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

struct adbg_error *adbg_svg_from_dot(const char *dot, size_t len, unsigned timeout_ms,
				     char **svg_ret)
{
	const char *prog = getenv("AIODBG_DOT");
	char *argv[] = {(char *)(prog && *prog ? prog : "dot"), "-Tsvg", NULL};
	posix_spawn_file_actions_t fa;
	int in = -1, errs = -1, out[2] = {-1, -1}, status = 0, rc;
	pid_t pid = -1;
	char *buf = NULL, *start, *end;
	size_t n = 0, cap = 0;
	struct adbg_error *err = NULL;
	long long deadline = now_ms() + timeout_ms;
	bool killed = false;

	in = memfile("aiodbg-dot", dot, len);
	errs = memfd_create("aiodbg-dot-errors", MFD_CLOEXEC);
	if (in < 0 || errs < 0 || pipe2(out, O_CLOEXEC) < 0) {
		err = adbg_error_os(errno, "running dot: pipes");
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errs, 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	out[1] = -1;
	if (rc) {
		pid = -1;
		err = rc == ENOENT ? adbg_error_create(ADBG_ERR_NOT_FOUND,
						       "Graphviz's dot is not installed "
						       "(Debian: apt install graphviz)")
				   : adbg_error_os(rc, "running %s", argv[0]);
		goto out;
	}
	for (;;) {
		struct pollfd pfd = {.fd = out[0], .events = POLLIN};
		long long left = deadline - now_ms();
		ssize_t r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		rc = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		if (cap - n < 65536) {
			char *nb;

			if (cap >= ADBG_SVG_MAX_BYTES) {
				kill(pid, SIGKILL);
				err = adbg_error_create(ADBG_ERR_BAD_DATA,
							"dot: more than %u MiB of SVG",
							ADBG_SVG_MAX_BYTES >> 20);
				break;
			}
			nb = realloc(buf, cap ? cap * 2 : 1 << 20);
			if (!nb) {
				kill(pid, SIGKILL);
				err = &adbg_error_nomem;
				break;
			}
			buf = nb;
			cap = cap ? cap * 2 : 1 << 20;
		}
		r = read(out[0], buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (err)
		goto out;
	if (killed) {
		err = adbg_error_create(ADBG_ERR_TIMEOUT, "dot did not finish within %u s",
					timeout_ms / 1000);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char line[200];

		first_line(errs, line, sizeof(line));
		err = adbg_error_create(ADBG_ERR_BAD_DATA, "dot failed (%s %d)%s%s",
					WIFEXITED(status) ? "exit status" : "signal",
					WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
					*line ? ": " : "", line);
		goto out;
	}
	if (!buf) {
		err = adbg_error_create(ADBG_ERR_BAD_DATA, "dot wrote nothing");
		goto out;
	}
	buf[n] = '\0';
	start = strstr(buf, "<svg");
	end = start ? strstr(start, "</svg>") : NULL;
	if (!end) {
		err = adbg_error_create(ADBG_ERR_BAD_DATA, "dot wrote no <svg> element");
		goto out;
	}
	end[6] = '\0';
	memmove(buf, start, (size_t)(end + 7 - start));
	err = adbg_svg_check(buf);
	if (!err) {
		*svg_ret = buf;
		buf = NULL;
	}
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	free(buf);
	if (in >= 0)
		close(in);
	if (errs >= 0)
		close(errs);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	return err;
}
