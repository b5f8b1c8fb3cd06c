# Probes rpc.py's parsers (used by unvmf-rpc-methods.py): for each option of each method, which request parameter it sets and how.
import sys, os, json, argparse, io, contextlib, copy
root = sys.argv[1]
sys.path.insert(0, root + '/python')
import importlib.util
spec = importlib.util.spec_from_file_location("rpcmain", root + "/scripts/rpc.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
parser, sub = m.create_parser()
want = sys.argv[2].split(',')

class Rec:
    def __init__(self, result): self.calls = []; self.result = result
    def __getattr__(self, name):
        def f(**kw):
            return self.call(name, {k: v for k, v in kw.items() if v is not None})
        return f
    def call(self, method, params=None):
        self.calls.append((method, copy.deepcopy(params)))
        return self.result

def run(name, argv, result=True):
    args = parser.parse_args([name] + argv)
    c = Rec(result); args.client = c
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args.func(args)
    if not c.calls: return None, out.getvalue()
    return c.calls[-1][1] or {}, out.getvalue()

def flat(d, pre=''):
    r = {}
    for k, v in d.items():
        if isinstance(v, dict) and v: r.update(flat(v, pre + k + '.'))
        else: r[pre + k] = v
    return r

def placeholder(a):
    if a.choices: return str(list(a.choices)[0])
    if a.type is int or a.dest == 'new_size': return '512'
    if a.type is float: return '64'
    return 'P' + a.dest

res = {}
for name in want:
    p = sub.choices[name]
    acts = [a for a in p._actions if not isinstance(a, argparse._HelpAction)]
    base = []
    for a in acts:
        if not a.option_strings and a.nargs != '?':
            base.append(placeholder(a))
    for a in acts:
        if a.option_strings and a.required:
            if type(a).__name__ == 'BooleanOptionalAction': base.append(a.option_strings[0])
            elif a.nargs == 0: base.append(a.option_strings[0])
            else: base += [a.option_strings[0], placeholder(a)]
    try:
        b, _ = run(name, base)
    except BaseException as e:
        res[name] = {'error': repr(e)}; continue
    bf = flat(b or {})
    # output style
    styles = {}
    for rname, rv in (('str', 'R_S'), ('true', True), ('dict', {'k': 1}), ('list', ['a', 'b'])):
        try: styles[rname] = run(name, base, rv)[1]
        except BaseException as e: styles[rname] = 'EXC'
    opts = []
    for a in acts:
        kind = type(a).__name__.replace('Action', '').lstrip('_')
        ent = dict(opts=a.option_strings, dest=a.dest, kind=kind, nargs=a.nargs, required=a.required,
                   type=getattr(a.type, '__name__', None) if a.type else None,
                   choices=[str(c) for c in a.choices] if a.choices else None, metavar=a.metavar, help=a.help)
        probes = []
        if a.option_strings:
            if kind == 'BooleanOptional':
                tries = [[a.option_strings[0]], [a.option_strings[1]]]
            elif a.nargs == 0:
                tries = [[a.option_strings[0]]]
            else:
                v = (str(list(a.choices)[-1]) if a.choices else '77' if a.type in (int, float) else 'Q' + a.dest)
                tries = [[a.option_strings[0], v]]
            for t in tries:
                argv = [x for x in base]
                # replace required option's placeholder
                if a.option_strings[0] in argv or (kind == 'BooleanOptional' and a.option_strings[0] in argv):
                    i = argv.index(a.option_strings[0]); del argv[i:i + (1 if a.nargs == 0 or kind == 'BooleanOptional' else 2)]
                try:
                    pr, _ = run(name, argv + t)
                except BaseException as e:
                    probes.append(dict(argv=t, error=repr(e))); continue
                pf = flat(pr or {})
                diff = {k: v for k, v in pf.items() if bf.get(k, 'ABSENT') != v or k not in bf}
                gone = [k for k in bf if k not in pf]
                probes.append(dict(argv=t, set=diff, gone=gone))
        else:
            v = '128' if a.type in (int, float) else 'Q' + a.dest
            argv = []
            done = False
            for x in acts:
                if not x.option_strings and (x.nargs != '?' or x is a):
                    if x is a: argv.append(v)
                    else: argv.append(placeholder(x))
            argv += base[len([x for x in acts if not x.option_strings and x.nargs != '?']):]
            try:
                pr, _ = run(name, argv)
                pf = flat(pr or {})
                diff = {k: vv for k, vv in pf.items() if bf.get(k, 'ABSENT') != vv}
                probes.append(dict(argv=argv, set=diff))
            except BaseException as e:
                probes.append(dict(argv=argv, error=repr(e)))
        ent['probes'] = probes
        opts.append(ent)
    res[name] = dict(base=base, base_params=b, styles=styles, opts=opts)
print(json.dumps(res, indent=1, default=str))
