#!/usr/bin/env python3
"""Writes app/unvmf-rpc-methods.c: the command-line tables of unvmf-rpc, one per method, read
from SPDK's own rpc.py (v25.09 and master) so that unvmf-rpc takes rpc.py's command lines.

Usage: unvmf-rpc-methods.py SPDK_V25_09_TREE SPDK_MASTER_TREE > app/unvmf-rpc-methods.c
Each tree needs scripts/rpc.py and python/. For every option the probe runs rpc.py's own parser
and command function with a recording client and notes which request parameter the option sets
and how (a value of a type, true, false); the union of both releases' spellings is written."""
import sys, json, subprocess, os

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'unvmf-rpc-probe.py')
METHODS = """framework_wait_init rpc_get_methods spdk_get_version spdk_kill_instance
framework_get_subsystems framework_get_config framework_set_scheduler
log_set_level log_get_level log_set_print_level log_get_print_level log_set_flag log_clear_flag
log_get_flags log_enable_timestamps
bdev_malloc_create bdev_malloc_delete bdev_null_create bdev_null_delete bdev_null_resize
bdev_aio_create bdev_aio_delete bdev_aio_rescan bdev_uring_create bdev_uring_delete
bdev_uring_rescan bdev_get_bdevs bdev_get_iostat bdev_set_options bdev_wait_for_examine
bdev_nvme_set_options bdev_nvme_set_hotplug bdev_raid_set_options bdev_iscsi_set_options
nvmf_create_transport nvmf_get_transports nvmf_create_subsystem nvmf_delete_subsystem
nvmf_get_subsystems nvmf_subsystem_add_listener nvmf_subsystem_remove_listener
nvmf_subsystem_get_listeners nvmf_subsystem_listener_set_ana_state nvmf_subsystem_add_ns
nvmf_subsystem_remove_ns nvmf_subsystem_add_host nvmf_subsystem_remove_host
nvmf_subsystem_allow_any_host nvmf_subsystem_get_controllers nvmf_subsystem_get_qpairs
nvmf_get_stats nvmf_set_max_subsystems nvmf_set_config nvmf_set_crdt
nvmf_discovery_add_referral nvmf_discovery_remove_referral nvmf_discovery_get_referrals
keyring_file_add_key keyring_file_remove_key keyring_get_keys keyring_linux_set_options
iobuf_set_options sock_impl_set_options sock_set_default_impl accel_set_options
accel_assign_opc""".split()

# Sent when the option is absent because rpc.py's absence means something else than the server's.
ABSENT = {('nvmf_subsystem_allow_any_host', 'allow_any_host'): 'true',
          ('log_enable_timestamps', 'enabled'): 'false'}



# Options the probe cannot set alone (rpc.py checks them against others first).
OVERRIDE = {('nvmf_subsystem_allow_any_host', 'enable'): 'allow_any_host',
            ('bdev_null_create', 'dif_type'): 'dif_type',
            ('nvmf_create_transport', 'masked_oncs'): 'masked_oncs',
            ('nvmf_create_transport', 'masked_fuses'): 'masked_fuses'}


# unvmf's own methods, and rpc.py's two client-side ones (unvmf-rpc.c builds them).
UNVMF_ONLY = '''static const struct cli_opt g_no_options[] = {
    {0},
};

static const struct cli_opt g_inject_fault[] = {
    {NULL, "--fault", "fault", CLI_STRING, CLI_REQUIRED, NULL},
    {NULL, "--qpair-id", "qpair_id", CLI_INT, 0, NULL},
    {NULL, "--cntlid", "cntlid", CLI_INT, 0, NULL},
    {NULL, "--qid", "qid", CLI_INT, 0, NULL},
    {0},
};

static const struct cli_opt g_save_config[] = {
    {"-i", "--indent", "indent", CLI_INT, 0, NULL},
    {"-s", "--subsystems", "subsystems", CLI_LIST, 0, NULL},
    {NULL, "--with-batches", "with_batches", CLI_TRUE, 0, NULL},
    {NULL, "--no-with-batches", "with_batches", CLI_FALSE, 0, NULL},
    {0},
};

static const struct cli_opt g_load_config[] = {
    {"-i", "--include-aliases", "include_aliases", CLI_TRUE, 0, NULL},
    {"-j", "--json-conf", "json_conf", CLI_STRING, 0, NULL},
    {0},
};
'''


def probe(tree):
    out = subprocess.run([sys.executable, PROBE, tree, ','.join(METHODS)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def style(v):
    s = v['styles']
    if all(x == '' for x in s.values()):
        return 'CLI_PRINT_NONE'
    if s['str'] == 'R_S\n':
        return 'CLI_PRINT_JSON'
    return 'CLI_PRINT_DICT'


def entries(name, v):
    """(short, long, param, kind, flags) for one release's parser."""
    res = []
    by_dest = {}
    for o in v['opts']:
        for p in o['probes']:
            if p.get('set') and len(p['set']) == 1:
                by_dest[o['dest']] = list(p['set'])[0]
    for o in v['opts']:
        if name.startswith('bdev_') and o['dest'] == 'total_size':
            res.append((None, None, 'num_blocks', 'CLI_SIZE_MB', 'CLI_POSITIONAL | CLI_REQUIRED'))
            continue
        param = by_dest.get(o['dest']) or OVERRIDE.get((name, o['dest']))
        if param is None:
            base = v['base_params'] or {}
            param = o['dest'] if o['dest'] in base else None
        if param is not None and '.Q' in param:
            param = None
        if param is None:
            sys.stderr.write('%s: %s: no parameter found, left to --PARAM\n' % (name, o['opts']))
            continue
        # The value's JSON type is the one rpc.py sends (a comma list may become an array).
        sent = [p['set'][param] for p in o['probes'] if param in p.get('set', {})]
        if sent and isinstance(sent[0], list):
            vk = 'CLI_LIST'
        elif (sent and isinstance(sent[0], bool)) or o['type'] not in ('int', 'float'):
            vk = 'CLI_STRING'
        elif o['type'] == 'float' or (sent and isinstance(sent[0], float)):
            vk = 'CLI_NUMBER'
        else:
            vk = 'CLI_INT'
        if not o['opts']:
            flags = 'CLI_POSITIONAL' + (' | CLI_REQUIRED' if o['nargs'] != '?' else '')
            res.append((None, None, param, vk, flags))
            continue
        shorts = [s for s in o['opts'] if not s.startswith('--')]
        longs = [s for s in o['opts'] if s.startswith('--')]
        req = ' | CLI_REQUIRED' if o['required'] else ''
        if o['kind'] == 'BooleanOptional':
            res.append((None, longs[0], param, 'CLI_TRUE', '0'))
            res.append((None, longs[1], param, 'CLI_FALSE', '0'))
        elif o['kind'] in ('StoreTrue', 'StoreFalse', 'StoreConst'):
            # What the flag sends, as probed (-d of allow_any_host is a store_true of 'disable').
            got = [p['set'][param] for p in o['probes'] if param in p.get('set', {})]
            val = got[0] if got else (v['base_params'] or {}).get(param, o['kind'] == 'StoreTrue')
            k = 'CLI_TRUE' if val else 'CLI_FALSE'
            res.append((shorts[0] if shorts else None, longs[0] if longs else None, param, k, '0'))
        else:
            res.append((shorts[0] if shorts else None, longs[0] if longs else None, param, vk,
                        req.lstrip(' |') or '0'))
    return res


def cstr(s):
    return 'NULL' if s is None else '"%s"' % s


def main():
    a, b = probe(sys.argv[1]), probe(sys.argv[2])
    print('/* Generated by app/unvmf-rpc-methods.py from SPDK rpc.py v25.09 and master; do not edit. */')
    print('/* clang-format off */')
    print('#include "unvmf-rpc.h"\n')
    names = []
    for name in METHODS:
        ea, eb = entries(name, a[name]), entries(name, b[name])
        merged = []
        for e in ea + eb:
            key = e[:4]
            dup = [m for m in merged if m[:4] == key]
            if dup:
                continue
            # Same spelling in both releases with another meaning: keep the first (v25.09).
            clash = [m for m in merged if (e[0] and m[0] == e[0]) or (e[1] and m[1] == e[1])]
            if clash and e[0] is None and e[1] is None:
                clash = []
            if clash:
                if clash[0][2] == e[2]:
                    continue
                sys.stderr.write('%s: %s clashes with %s\n' % (name, e, clash[0]))
                continue
            same = [i for i, m in enumerate(merged) if m[2] == e[2] and m[4].startswith('CLI_POS')]
            if e[4].startswith('CLI_POSITIONAL') and same:
                # A number in one release, a string in the other (bdev_null_resize's
                # new_size): the server takes the number.
                if e[3] == 'CLI_INT':
                    merged[same[0]] = merged[same[0]][:3] + ('CLI_INT',) + merged[same[0]][4:]
                continue
            merged.append(e)
        # required only where both releases require it
        final = []
        for e in merged:
            flags = e[4]
            if 'CLI_REQUIRED' in flags and not e[4].startswith('CLI_POSITIONAL'):
                inb = any(x[:4] == e[:4] and 'CLI_REQUIRED' in x[4] for x in ea) and \
                      any(x[:4] == e[:4] and 'CLI_REQUIRED' in x[4] for x in eb)
                if not inb:
                    flags = '0'
            final.append(e[:4] + (flags,))
        ident = 'g_' + name
        print('static const struct cli_opt %s[] = {' % ident)
        for s, l, p, k, f in final:
            ab = ABSENT.get((name, p))
            print('    {%s, %s, "%s", %s, %s, %s},' % (cstr(s), cstr(l), p, k, f,
                                                     cstr(ab.replace('"', '\\"')) if ab else 'NULL'))
        print('    {0},\n};\n')
        sa, sb = style(a[name]), style(b[name])
        names.append((name, ident, sa))
    print(UNVMF_ONLY)
    names += [('unvmf_get_version', 'g_no_options', 'CLI_PRINT_DICT'),
              ('nvmf_tcp_inject_fault', 'g_inject_fault', 'CLI_PRINT_DICT'),
              ('nvmf_rdma_inject_fault', 'g_inject_fault', 'CLI_PRINT_DICT'),
              ('save_config', 'g_save_config', 'CLI_PRINT_CLIENT'),
              ('load_config', 'g_load_config', 'CLI_PRINT_CLIENT')]
    print('const struct cli_method g_cli_methods[] = {')
    for n, i, s in names:
        print('    {"%s", %s, %s},' % (n, i, s))
    print('};\n\nconst size_t g_cli_methods_count = sizeof(g_cli_methods) / sizeof(g_cli_methods[0]);')


main()
