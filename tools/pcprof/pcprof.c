/*
 * pcprof: a QEMU TCG plugin counting executed guest instructions per PC inside
 * windows the guest marks (tools/profile; docs/performance.md).
 *
 * A window opens when a vCPU executes `xchg %bx,%bx` (66 87 db) and closes
 * when it executes `xchg %cx,%cx` (66 87 c9): both are no-ops the benchmark
 * places around its timed loops (workloads/bench/bench.h). `xchg %dx,%dx`
 * (66 87 d2) toggles a pause inside a window: the bench's own untimed work
 * (a refill, a check) between samples is not counted. While a window
 * is open, every vCPU's instructions count (a cross-core figure includes the
 * other core's work), each by PC and vCPU. At exit the plugin writes, for
 * each window in order, a line "window N" and then "PC VCPU COUNT" lines
 * (hex PC) to the file named by out=PATH (default pcprof.out).
 *
 * Debian's QEMU 7.2 ships no qemu-plugin.h: the few declarations used are
 * written here from QEMU's public plugin API documentation (API version 1).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- The QEMU plugin API (docs/devel/tcg-plugins.rst, include/qemu/qemu-plugin.h, version 1). --- */
#define EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t; /* not read */
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
typedef void (*tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb_t cb, void *userdata);
EXPORT int qemu_plugin_version = 1;
/* --- end of the API --- */

#define MAX_VCPUS 64
#define MAX_WINDOWS 4096

struct pc_rec {
	uint64_t pc;
	bool marker_on, marker_off, marker_pause;
	uint64_t count[MAX_VCPUS];   /* in the current window */
	struct pc_rec *next_touched; /* touched in the current window: a list to flush */
	bool touched;
};

static struct pc_rec **table; /* open addressing on pc */
static size_t table_cap, table_n;
static struct pc_rec *touched;
static bool open_window, paused;
static unsigned nwindows;
static FILE *out;

static size_t slot_of(uint64_t pc)
{
	size_t h = (size_t)((pc * 0x9e3779b97f4a7c15ULL) >> 20);
	for (size_t i = h & (table_cap - 1);; i = (i + 1) & (table_cap - 1))
		if (!table[i] || table[i]->pc == pc)
			return i;
}

static struct pc_rec *rec_of(uint64_t pc)
{
	if ((table_n + 1) * 2 > table_cap) {
		size_t old = table_cap;
		struct pc_rec **t = table;
		table_cap = old ? old * 2 : 1 << 16;
		table = calloc(table_cap, sizeof(*table));
		for (size_t i = 0; i < old; i++)
			if (t[i])
				table[slot_of(t[i]->pc)] = t[i];
		free(t);
	}
	size_t s = slot_of(pc);
	if (!table[s]) {
		table[s] = calloc(1, sizeof(struct pc_rec));
		table[s]->pc = pc;
		table_n++;
	}
	return table[s];
}

static void flush_window(void)
{
	if (out)
		fprintf(out, "window %u\n", nwindows);
	for (struct pc_rec *r = touched; r; r = r->next_touched) {
		for (unsigned v = 0; v < MAX_VCPUS; v++) {
			if (r->count[v] && out)
				fprintf(out, "%llx %u %llu\n", (unsigned long long)r->pc, v,
					(unsigned long long)r->count[v]);
			r->count[v] = 0;
		}
		r->touched = false;
	}
	touched = NULL;
	nwindows++;
}

static void on_insn(unsigned int vcpu, void *udata)
{
	struct pc_rec *r = udata;
	if (r->marker_on && !open_window) {
		open_window = true;
		return; /* the marker itself is not counted */
	}
	if (r->marker_pause) {
		paused = !paused;
		return;
	}
	if (r->marker_off && open_window) {
		open_window = paused = false;
		if (nwindows < MAX_WINDOWS)
			flush_window();
		return;
	}
	if (!open_window || paused || vcpu >= MAX_VCPUS)
		return;
	if (!r->touched) {
		r->touched = true;
		r->next_touched = touched;
		touched = r;
	}
	r->count[vcpu]++;
}

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	size_t n = qemu_plugin_tb_n_insns(tb);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		struct pc_rec *r = rec_of(qemu_plugin_insn_vaddr(insn));
		const uint8_t *b = qemu_plugin_insn_data(insn);
		if (qemu_plugin_insn_size(insn) == 3 && b[0] == 0x66 && b[1] == 0x87) {
			r->marker_on = b[2] == 0xdb;
			r->marker_off = b[2] == 0xc9;
			r->marker_pause = b[2] == 0xd2;
		}
		qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS, r);
	}
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	if (open_window)
		flush_window(); /* the run ended inside a window: keep what it counted */
	if (out)
		fclose(out);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	(void)info;
	const char *path = "pcprof.out";
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
