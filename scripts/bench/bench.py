#!/usr/bin/env python3
"""csvseal's benchmark table (issue 9): every figure in one run, whole
processes, medians of interleaved runs, peak RSS from wait4. Run it through
scripts/bench.sh, which builds what it needs; see there for the options.

Baselines: the policy's Python (tests/python/policy_csv.py: atomic_csv_write,
validate_csv_integrity) on the same input, and a bare C program doing only
the system calls of an atomic commit (scripts/bench/bare_write.c).
"""
import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / 'tests' / 'python' / 'policy_csv.py'
TS = '2024-09-10T14:30:00Z'


def spawn(cmd, env=None, stdin=None, rss=False):
    """Runs `cmd` to completion: (wall seconds, peak RSS KiB or None).
    stdout is discarded; a failure stops the benchmark with its stderr.
    Peak RSS comes from /usr/bin/time, not from this process's wait4: a
    child forked from Python counts Python's own pages until it execs."""
    err = tempfile.TemporaryFile()
    report = tempfile.NamedTemporaryFile() if rss else None
    if rss:
        cmd = ['/usr/bin/time', '-f', '%M', '-o', report.name] + list(cmd)
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env,
                          stdin=open(stdin, 'rb') if stdin else subprocess.DEVNULL)
    secs = time.perf_counter() - start
    if done.returncode != 0:
        err.seek(0)
        sys.exit(f'failed ({done.returncode}): {" ".join(map(str, cmd))}\n{err.read().decode()}')
    return secs, int(Path(report.name).read_text().split()[-1]) if rss else None


# `--best`: the fastest run rather than the median (a shared machine's load
# only ever adds time).
PICK = statistics.median


def medians(runs, *jobs):
    """Runs each job (a function doing one timed run) `runs` times,
    interleaved so that load from elsewhere hits them alike; returns the
    median (or with --best the fastest) (seconds, peak RSS KiB) of each."""
    results = [[] for _ in jobs]
    for _ in range(runs):
        for r, job in zip(results, jobs):
            r.append(job())
    return [(PICK([s for s, _ in r]), max((k or 0) for _, k in r)) for r in results]


NOTE_HEADER = ['timestamp', 'trade_id', 'symbol', 'profit_loss', 'note']


def note(i):
    """A 5,000-character note: lines of text with quoted words, so that
    CSV quotes the field and it holds line breaks."""
    text = ''.join(f'line {k} of note {i}: the client asked about the "settlement", '
                   'see the desk log.\n' for k in range(70))
    return text[:5000]


def mixed_input(path, n, every, jsonl=False, notes=True):
    """`n` rows of the policy's example shape plus a `note` column: a
    5,000-character note in every `every`-th row (from the first), empty
    elsewhere (`notes=False`: empty everywhere)."""
    symbols = ['EURUSD', 'GBPUSD', 'USDJPY', 'AUDUSD', 'USDCHF']
    with open(path, 'w', newline='', encoding='utf-8') as f:
        w = csv.writer(f)
        if not jsonl:
            w.writerow(NOTE_HEADER)
        for i in range(n):
            sec = i % 86400
            row = [f'2024-09-10T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}Z',
                   f'TRADE_20240910_{i + 1:07d}', symbols[i % 5],
                   f'{(i * 7919 % 20001 - 10000) / 100:.2f}',
                   note(i) if notes and i % every == 0 else '']
            if jsonl:
                f.write(json.dumps(dict(zip(NOTE_HEADER, row)), separators=(',', ':')) + '\n')
            else:
                w.writerow(row)


def ms(secs):
    if secs < 0.01:
        return f'{secs * 1000:.2f} ms'
    return f'{secs * 1000:.0f} ms' if secs < 1 else f'{secs:.2f} s'


def mb(path):
    return os.path.getsize(path) / 1e6


class Bench:
    def __init__(self, args, work):
        self.a = args
        self.work = work
        self.bin = str(args.csvseal)
        self.rows = []

    def row(self, work, ours, theirs, ratio, goal):
        self.rows.append((work, ours, theirs, ratio, goal))
        print(f'  {work}: {ours} | {theirs} | {ratio} | goal {goal}', file=sys.stderr, flush=True)

    def csvseal_write(self, inp, fmt, out):
        def run():
            shutil.rmtree(out, ignore_errors=True)
            os.mkdir(out)
            return spawn([self.bin, 'write', '--dir', out, '--name', 'bench', '--format', fmt,
                          '--input', inp, '--timestamp', TS])
        return run

    def policy_write(self, inp, fmt, out):
        def run():
            Path(out).unlink(missing_ok=True)
            cmd = [sys.executable, str(POLICY), 'write', out, inp]
            return spawn(cmd + (['--jsonl'] if fmt == 'jsonl' else []))
        return run

    def write_rows(self, shape):
        n = self.a.write_rows
        for fmt in ('jsonl', 'csv'):
            inp = f'{self.work}/{shape}.{fmt}'
            spawn([sys.executable, str(POLICY), 'generate', str(n), inp, '--' + shape, '--jsonl']
                  if fmt == 'jsonl' else
                  [sys.executable, str(POLICY), 'generate', str(n), inp, '--' + shape])
            ours_dir = f'{self.work}/out-{shape}-{fmt}'
            theirs = f'{self.work}/policy-{shape}-{fmt}.csv'
            (cs, _), (py, _) = medians(self.a.runs, self.csvseal_write(inp, fmt, ours_dir),
                                       self.policy_write(inp, fmt, theirs))
            sealed = next(Path(ours_dir).glob('bench_*.csv'))
            # The same work: byte-identical output.
            if Path(theirs).read_bytes() != sealed.read_bytes():
                sys.exit(f'csvseal and the policy script wrote different files for {inp}')
            cols = 16 if shape == 'wide' else 4
            label = 'JSON Lines' if fmt == 'jsonl' else 'CSV'
            self.row(f'`write`, {n // 1000}k rows {label}, {cols} columns ({mb(inp):.0f} MB)',
                     ms(cs), ms(py), f'**{py / cs:.1f}×**', '≥ 10×')
            os.remove(inp)
            shutil.rmtree(ours_dir)
            os.remove(theirs)

    def sealed_file(self, rows, name):
        """A sealed file of `rows` narrow rows, written by csvseal."""
        inp = f'{self.work}/{name}.in.csv'
        spawn([sys.executable, str(POLICY), 'generate', str(rows), inp])
        out = f'{self.work}/{name}'
        os.makedirs(out, exist_ok=True)
        spawn([self.bin, 'write', '--dir', out, '--name', name, '--input', inp, '--timestamp', TS])
        os.remove(inp)
        return str(next(Path(out).glob(f'{name}_*.csv')))

    def verify_rows(self):
        n = self.a.verify_rows
        sealed = self.sealed_file(n, 'verify')
        (cs, _), (py, _) = medians(
            self.a.runs,
            lambda: spawn([self.bin, 'verify', sealed]),
            lambda: spawn([sys.executable, str(POLICY), 'validate', sealed]))
        self.row(f'`verify`, {n / 1e6:g}M rows ({mb(sealed):.0f} MB)', ms(cs), ms(py),
                 f'**{py / cs:.1f}×**', '≥ 18×')
        os.remove(sealed)

    def frames(self):
        """DataFrames (issue 22): a 1M-row x 5-column pandas frame written by
        csvseal.write against the policy's atomic_csv_write of its row dicts
        and against df.to_csv alone; read() against validate_csv_integrity
        plus pd.read_csv (bindings/python/bench_frames.py, in the Python that
        runs this script, with the csvseal package installed)."""
        n = self.a.frame_rows
        out = subprocess.run(
            [sys.executable, str(ROOT / 'bindings/python/bench_frames.py'), '--rows', str(n),
             '--runs', str(self.a.runs), '--json'],
            check=True, capture_output=True, text=True)
        m = json.loads(out.stdout)
        what = f'{n / 1e6:g}M rows × 5 columns ({m["mb"]:.0f} MB)'
        self.row(f'Python `write(df)` vs policy `atomic_csv_write(df.to_dict("records"))`, {what}',
                 ms(m['write']), ms(m['policy_write']),
                 f'**{m["policy_write"] / m["write"]:.1f}×**', '≥ 10×')
        self.row(f'Python `write(df)` vs `df.to_csv(path)` alone (no checksums, no fsync), {what}',
                 ms(m['write']), ms(m['to_csv']), f'**{m["to_csv"] / m["write"]:.2f}×**', '> 1×')
        self.row(f'Python `read(path, schema)` vs `validate_csv_integrity` + `pd.read_csv`, {what}',
                 ms(m['read']), ms(m['policy_read']),
                 f'**{m["policy_read"] / m["read"]:.1f}×**', '≥ 3×')

    def signing(self):
        """What signatures cost: a signed write of verify_rows rows against the
        same write unsigned, and verify --key against verify, on that file."""
        n = self.a.verify_rows
        inp = f'{self.work}/signing.in.csv'
        spawn([sys.executable, str(POLICY), 'generate', str(n), inp])
        key, pub = f'{self.work}/bench.key', f'{self.work}/bench.pub'
        spawn([self.bin, 'keygen', '--secret-key', key, '--public-key', pub])

        def write(signed):
            out = f'{self.work}/signing-{"on" if signed else "off"}'

            def run():
                shutil.rmtree(out, ignore_errors=True)
                os.mkdir(out)
                return spawn([self.bin, 'write', '--dir', out, '--name', 'bench', '--input', inp,
                              '--timestamp', TS] + (['--sign-key', key] if signed else []))
            return run
        (plain, _), (signed, _) = medians(self.a.runs, write(False), write(True))
        self.row(f'`write --sign-key`, {n / 1e6:g}M rows, vs the same `write` unsigned', ms(signed),
                 ms(plain), f'{(signed / plain - 1) * 100:+.0f}%', '≤ +5%')
        sealed = str(next(Path(f'{self.work}/signing-on').glob('bench_*.csv')))
        (keyed, _), (bare, _) = medians(
            self.a.runs,
            lambda: spawn([self.bin, 'verify', '--key', pub, sealed]),
            lambda: spawn([self.bin, 'verify', sealed]))
        self.row(f'`verify --key`, {n / 1e6:g}M rows ({mb(sealed):.0f} MB), vs `verify`', ms(keyed),
                 ms(bare), f'{(keyed / bare - 1) * 100:+.0f}%', '≤ +15%')
        os.remove(inp)

    def lanes(self, mode, path, *extra):
        """The SHA-256 lane utilisation on `path` (the native build of the
        component's scheduler, guest/examples/lane_stats.rs)."""
        if not self.a.lane_stats:
            return ''
        out = subprocess.run([str(self.a.lane_stats), mode, path, *extra], check=True,
                             capture_output=True, text=True).stdout.split()
        return f', lanes {float(out[3]) * 100:.1f}%'

    def seal_input(self, inp, name):
        out = f'{self.work}/{name}'
        os.makedirs(out, exist_ok=True)
        spawn([self.bin, 'write', '--dir', out, '--name', name, '--input', inp, '--timestamp', TS])
        os.remove(inp)
        return str(next(Path(out).glob(f'{name}_*.csv')))

    def mixed(self):
        """Rows of mixed widths (issue 20): 12k rows each with a 5,000-byte
        note; the same long rows among 16 times as many short ones; those
        short rows alone; a 200k-row JSON Lines write, 1 row in 17 noted."""
        scale = 10 if self.a.quick else 1
        long_n, every = 12_000 // scale, 17
        files = {}
        for name, n, k, notes in (('notes', long_n, 1, True),
                                  ('mixed', long_n * every, every, True),
                                  ('short', long_n * (every - 1), every, False)):
            inp = f'{self.work}/{name}.in.csv'
            mixed_input(inp, n, k, notes=notes)
            files[name] = self.seal_input(inp, name)
        short = files['short']
        times = {}
        for name, label in (('notes', f'{long_n // 1000}k rows, each with a 5,000-byte note'),
                            ('mixed', f'the same {long_n // 1000}k long rows among '
                                      f'{long_n * (every - 1) // 1000}k short ones')):
            sealed = files[name]
            (one, _), (two, _), (py, _) = medians(
                self.a.runs,
                lambda: spawn([self.bin, 'verify', '--jobs', '1', sealed]),
                lambda: spawn([self.bin, 'verify', '--jobs', '2', sealed]),
                lambda: spawn([sys.executable, str(POLICY), 'validate', sealed]))
            times[name] = one
            self.row(f'`verify --jobs 1`, {label} ({mb(sealed):.0f} MB)', ms(one), ms(py),
                     f'**{py / one:.1f}×**{self.lanes("verify", sealed)}', '≥ 8×')
            self.row(f'`verify --jobs 2`, the same file, vs `--jobs 1`', ms(two), ms(one),
                     f'{one / two:.2f}×', '> 1×')
        (alone, _), = medians(self.a.runs, lambda: spawn([self.bin, 'verify', '--jobs', '1', short]))
        whole = times['notes'] + alone
        self.row(f'`verify --jobs 1` mixed, vs the long rows plus the short ones alone '
                 f'({ms(times["notes"])} + {ms(alone)})', ms(times['mixed']), ms(whole),
                 f'{times["mixed"] / whole:.2f}×', '≤ 1.3×')
        n = 200_000 // scale
        inp = f'{self.work}/mixed.jsonl'
        mixed_input(inp, n, every, jsonl=True)
        ours_dir, theirs = f'{self.work}/out-mixed-jsonl', f'{self.work}/policy-mixed.csv'
        (cs, _), (py, _) = medians(self.a.runs, self.csvseal_write(inp, 'jsonl', ours_dir),
                                   self.policy_write(inp, 'jsonl', theirs))
        sealed = next(Path(ours_dir).glob('bench_*.csv'))
        if Path(theirs).read_bytes() != sealed.read_bytes():
            sys.exit(f'csvseal and the policy script wrote different files for {inp}')
        self.row(f'`write`, {n // 1000}k rows JSON Lines, 1 in {every} with a 5,000-char note '
                 f'({mb(inp):.0f} MB)', ms(cs), ms(py),
                 f'**{py / cs:.1f}×**{self.lanes("write", inp, "--jsonl")}', '≥ 6×')
        for f in files.values():
            os.remove(f)
        os.remove(inp)
        shutil.rmtree(ours_dir)
        os.remove(theirs)

    def verify_tiny(self):
        tiny = self.sealed_file(10, 'tiny')
        env = dict(os.environ)
        env.pop('CSVSEAL_CACHE_DIR', None)
        env.pop('CSVSEAL_NO_CACHE', None)
        spawn([self.bin, 'verify', tiny], env=env)  # warm the cache
        (warm, _), = medians(self.a.tiny_runs, lambda: spawn([self.bin, 'verify', tiny], env=env))
        self.row('`verify`, tiny file, warm cache', ms(warm), '–', '–', '≤ 8 ms')

        def cold():
            e = dict(env, CSVSEAL_CACHE_DIR=tempfile.mkdtemp(dir=self.work))
            try:
                return spawn([self.bin, 'verify', tiny], env=e)
            finally:
                shutil.rmtree(e['CSVSEAL_CACHE_DIR'])
        (cold_s, _), = medians(max(3, self.a.runs), cold)
        self.row('`verify`, tiny file, empty cache', ms(cold_s), '–', '–', '≤ 150 ms')
        self.tiny = tiny

    def write_small(self):
        inp = f'{self.work}/ten.csv'
        spawn([sys.executable, str(POLICY), 'generate', '10', inp])
        out = f'{self.work}/small'
        bare_in = self.tiny  # the same 10 sealed rows

        def ours():
            shutil.rmtree(out, ignore_errors=True)
            os.mkdir(out)
            return spawn([self.bin, 'write', '--dir', out, '--name', 'ten', '--input', inp])

        def bare():
            shutil.rmtree(out, ignore_errors=True)
            os.mkdir(out)
            return spawn([str(self.a.bare), bare_in, out, 'ten.csv'])
        (cs, _), (b, _) = medians(self.a.tiny_runs, ours, bare)
        self.row('`write` 10 rows (CLI) vs bare C open/write/fsync/rename/dir-fsync',
                 ms(cs), ms(b), f'{cs / b:.1f}×', '≤ 2×')

    def verify_big(self):
        """A sealed file of about `big_mb` MB: the 1M-row input repeated,
        sealed through stdin, then verified once (time and peak RSS)."""
        rows = 1_000_000 if self.a.big_mb >= 130 else max(1000, self.a.big_mb * 7600)
        inp = f'{self.work}/big.in.csv'
        spawn([sys.executable, str(POLICY), 'generate', str(rows), inp])
        # Sealing adds a seq and a 64-digit checksum: ~2.2x these rows.
        copies = max(1, round(self.a.big_mb * 1e6 / (os.path.getsize(inp) * 2.2)))
        stream = f'{self.work}/big.all.csv'
        with open(inp, 'rb') as src, open(stream, 'wb') as f:
            f.write(src.readline())
            body_at = src.tell()
            for _ in range(copies):
                src.seek(body_at)
                shutil.copyfileobj(src, f)
        os.remove(inp)
        out = f'{self.work}/big'
        os.makedirs(out, exist_ok=True)
        spawn([self.bin, 'write', '--dir', out, '--name', 'big', '--timestamp', TS], stdin=stream)
        os.remove(stream)
        sealed = str(next(Path(out).glob('big_*.csv')))
        (secs, rss), = medians(self.a.big_runs,
                               lambda: spawn([self.bin, 'verify', sealed], rss=True))
        size = mb(sealed)
        self.row(f'`verify` {size / 1000:.1f} GB' if size >= 1000 else f'`verify` {size:.0f} MB',
                 f'{ms(secs)}, {rss / 1024:.0f} MiB peak RSS', '–',
                 f'{size / secs:.0f} MB/s', 'keep ≤ 64 MiB RSS')
        os.remove(sealed)

    def criterion(self):
        """The in-process figures: criterion benches, their medians."""
        env = dict(os.environ)
        for bench in ('small_commit', 'native_vs_sandboxed'):
            subprocess.run(['cargo', 'bench', '--locked', '-q', '-p', 'csvseal', '--bench', bench,
                            '--', '--warm-up-time', '1', '--measurement-time', '4',
                            '--noplot'], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
        crit = ROOT / 'target' / 'criterion'

        def median(group, name):
            d = json.loads((crit / group / name / 'new' / 'estimates.json').read_text())
            return d['median']['point_estimate'] / 1e9
        ours, bare = median('small_commit_10_rows', 'csvseal_library'), \
            median('small_commit_10_rows', 'bare_syscalls')
        self.row('library `write` 10 rows, long-running process, vs bare syscalls (criterion)',
                 ms(ours), ms(bare), f'{ours / bare:.2f}×', '≤ 1.5×')
        for job in ('seal', 'verify'):
            group = f'{job}_100k_rows'
            sb, nat = median(group, 'sandboxed'), median(group, 'native')
            self.row(f'{job} 100k rows in memory: sandboxed vs the same guest code native '
                     f'(criterion)', ms(sb), ms(nat), f'{sb / nat:.2f}×', '≤ 1.5×')


def machine():
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo')
                if l.startswith('model name')), platform.processor())
    return (f'{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, '
            f'load average {os.getloadavg()[0]:.1f} at the start')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--csvseal', type=Path, required=True)
    p.add_argument('--bare', type=Path, required=True)
    p.add_argument('--quick', action='store_true')
    p.add_argument('--runs', type=int)
    p.add_argument('--write-rows', type=int)
    p.add_argument('--verify-rows', type=int)
    p.add_argument('--big-mb', type=int)
    p.add_argument('--shapes', default='wide,narrow')
    p.add_argument('--no-criterion', action='store_true')
    p.add_argument('--markdown', action='store_true')
    p.add_argument('--best', action='store_true', help='fastest run, not the median')
    p.add_argument('--only', help='sections, comma-separated: write,verify,mixed,signing,'
                   'frames,tiny,small,big,criterion')
    p.add_argument('--frame-rows', type=int)
    p.add_argument('--lane-stats', type=Path, help='guest/examples/lane_stats binary')
    p.add_argument('--command', default='scripts/bench.sh')
    a = p.parse_args()
    global PICK
    if a.best:
        PICK = min
    quick = a.quick
    a.runs = a.runs or (3 if quick else 5)
    a.tiny_runs = 5 if quick else 21
    a.big_runs = 1
    a.write_rows = a.write_rows or (20_000 if quick else 200_000)
    a.verify_rows = a.verify_rows or (100_000 if quick else 1_000_000)
    a.frame_rows = a.frame_rows or (100_000 if quick else 1_000_000)
    a.big_mb = a.big_mb or (100 if quick else 1300)
    started = machine()
    work = tempfile.mkdtemp(prefix='bench-', dir=ROOT / 'target')
    b = Bench(a, work)
    try:
        only = set(a.only.split(',')) if a.only else None

        def want(section):
            return only is None or section in only
        if want('write'):
            for shape in a.shapes.split(','):
                b.write_rows(shape)
        if want('verify'):
            b.verify_rows()
        if want('mixed'):
            b.mixed()
        if want('signing'):
            b.signing()
        if want('frames'):
            b.frames()
        if want('tiny') or want('small'):
            b.verify_tiny()
        if want('small'):
            b.write_small()
        if want('big'):
            b.verify_big()
        if want('criterion') and not (a.no_criterion or quick):
            b.criterion()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = ['| work | csvseal | baseline | ratio | goal |', '|---|---|---|---|---|']
    table += [f'| {" | ".join(r)} |' for r in b.rows]
    if a.markdown:
        print(f'Measured by `{a.command}` on {started}, '
              f'{time.strftime("%Y-%m-%d")}; {"best" if a.best else "medians"} of {a.runs} interleaved runs '
              f'({a.tiny_runs} for the small ones), whole processes; baselines: the '
              "policy's Python on the same input, a bare C commit of the same bytes.\n")
    print('\n'.join(table))


if __name__ == '__main__':
    main()
