#!/usr/bin/env python3
"""Mirror benchmark (issue 20, "Speed"): how fast `mule mirror` fills a local PostgreSQL.

For each kind of store of N entries (log only, kv puts, map points) it times a first
`mule mirror` into an empty database (wall time, the mirror's CPU, entries per second), then a
plain binary `COPY` of the same rows of `mule.entries` into a table of the same definition
(keys and indexes) in the same cluster, and prints the ratio of the two. Not a test: nothing is
asserted.

Usage: scripts/bench-mirror.py [N]            (default 1000000)
MULE=path/to/mule picks the binary (default: a release build of this repo).
It starts a throwaway PostgreSQL cluster (as the postgres user when run as root) on a free
port of 127.0.0.1 and removes it at the end. Needs PostgreSQL with PostGIS (scripts/test
installs them) and python3. Markdown on stdout, progress on stderr; run on an idle machine.
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class Cluster:
    """A PostgreSQL cluster in a temporary directory, as the mirror tests start one."""

    def __init__(self, work):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            sys.exit("PostgreSQL is not installed (scripts/test installs it)")
        self.bin = os.path.dirname(bins[-1])
        self.dir = os.path.join(work, "pg")
        self.as_postgres = os.geteuid() == 0
        os.makedirs(os.path.join(self.dir, "sock"))
        os.makedirs(os.path.join(self.dir, "data"))
        os.chmod(work, 0o755)
        if self.as_postgres:
            subprocess.run(["chown", "-R", "postgres", self.dir], check=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        data = os.path.join(self.dir, "data")
        self.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.dir}/sock -c listen_addresses=127.0.0.1"
        self.run("pg_ctl", "-D", data, "-w", "-l", f"{data}/log", "-o", options, "start")

    def run(self, program, *args):
        command = [os.path.join(self.bin, program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=self.dir)

    def url(self, db):
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, db, sql):
        out = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", self.url(db), "-c", sql],
            check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self):
        self.run("pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "immediate", "-w", "stop")


def timed(command, **kwargs):
    """Runs command; (wall seconds, CPU seconds of the process and its children)."""
    start = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, **kwargs)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}")
    return wall, usage.ru_utime + usage.ru_stime


def lines_for(kind, n, path):
    """Writes the input of the store of `kind` to `path`: JSON lines (obs, kv) or GeoJSON (map)."""
    with open(path, "w") as out:
        if kind == "map":
            gen = [sys.executable, os.path.join(ROOT, "scripts/gen-points.py"), str(n)]
        else:
            gen = [sys.executable, os.path.join(ROOT, "scripts/gen-entries.py"), str(n)]
            if kind == "kv":
                gen.append("--kv")
        subprocess.run(gen, check=True, stdout=out)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    mule = os.environ.get("MULE")
    if not mule:
        say("building mule (release)...")
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "mule"], cwd=ROOT, check=True)
        mule = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release/mule")
    work = tempfile.mkdtemp(prefix="bench-mirror")
    cluster = Cluster(work)
    try:
        print(f"## mule mirror\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{os.cpu_count()} CPUs, PostgreSQL {cluster.psql('postgres', 'SHOW server_version')}"
              f" on the same machine (fsync on). Wall time of a first `mule mirror` into an empty"
              f" database; CPU is the mirror's own; \"COPY\" is a plain binary COPY of the same"
              f" `mule.entries` rows into a table of the same definition.\n")
        print("| store | entries | mirror s | mirror CPU s | entries/s | COPY s | mirror / COPY |")
        print("|---|---|---|---|---|---|---|")
        for kind, label in [("obs", "log only (obs)"), ("kv", "kv puts"), ("map", "map points")]:
            store = os.path.join(work, kind)
            source = os.path.join(work, f"{kind}.input")
            say(f"{kind}: {n} entries: writing the store")
            lines_for(kind, n, source)
            if kind == "map":
                subprocess.run([mule, "--store", store, "map", "import", source],
                               check=True, stdout=subprocess.DEVNULL)
            else:
                with open(source) as stdin:
                    subprocess.run([mule, "--store", store, "append", kind, "-"],
                                   stdin=stdin, check=True, stdout=subprocess.DEVNULL)
            os.remove(source)
            db = f"bench_{kind}"
            cluster.psql("postgres", f"CREATE DATABASE {db}")
            say(f"{kind}: mirroring")
            wall, cpu = timed([mule, "--store", store, "mirror", cluster.url(db)])
            copied = int(cluster.psql(db, "SELECT count(*) FROM mule.entries"))
            say(f"{kind}: plain COPY of the same {copied} rows")
            dump = os.path.join(work, "entries.bin")
            cluster.psql(db, f"\\copy mule.entries TO '{dump}' (FORMAT binary)")
            cluster.psql(db, "CREATE TABLE plain (LIKE mule.entries INCLUDING ALL)")
            copy_wall, _ = timed(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", cluster.url(db),
                                  "-c", f"\\copy plain FROM '{dump}' (FORMAT binary)"])
            os.remove(dump)
            shutil.rmtree(store)
            print(f"| {label} | {copied:,} | {wall:.1f} | {cpu:.1f} | {copied / wall:,.0f} |"
                  f" {copy_wall:.1f} | {wall / copy_wall:.1f}x |", flush=True)
            cluster.psql("postgres", f"DROP DATABASE {db}")
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nReproduce: `scripts/bench-mirror.py {n}`")


if __name__ == "__main__":
    main()
