"""The python3 module's build: the standard library files `python3 -m http.server`
imports (and nothing else), copied from this host's Python 3.11 into
$MODULE_BUILD/lib with unchecked-hash .pyc files (the image's timestamps are
fixed, so timestamp-checked ones would be recompiled at every start).
Extension modules (.so) are listed in usr.manifest, so they come with their
library closures. Run by the host's /usr/bin/python3.11 -I -S."""
import argparse, contextlib, encodings.idna, http.server, importlib.util, os, pkgutil, py_compile, runpy, shutil, sys  # noqa: F401
# (encodings.idna: getaddrinfo() of the --bind address decodes with it)

stdlib = '/usr/lib/python3.11/'
out = os.path.join(os.environ['MODULE_BUILD'], 'lib')
shutil.rmtree(out, ignore_errors=True)
files = sorted({f for m in list(sys.modules.values()) if (f := getattr(m, '__file__', None)) and f.startswith(stdlib)})
for src in files:
    if src.endswith('.so'):
        continue
    rel = src[len(stdlib):]
    dst = os.path.join(out, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)
    py_compile.compile(dst, cfile=importlib.util.cache_from_source(dst), dfile=src, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
missing = [f for f in files if f.endswith('.so') and not open(os.path.join(os.environ['MODULE_DIR'], 'usr.manifest')).read().count(f)]
if missing:
    sys.exit('python3 module: usr.manifest lacks these extension modules: ' + ' '.join(missing))
print(f'{len(files)} standard library files', file=sys.stderr)
