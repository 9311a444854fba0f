"""A client for `facetwin-bench --serve-embed`, shared by scripts/bench-embed-pairs.py and
scripts/bench-ab.py: `from serve_embed import ServeEmbed`.

The process trains its steps, prints "ready", then for each line "N" on stdin embeds N batches
and prints their wall seconds on one line."""
import subprocess


class ServeEmbed:
    def __init__(self, argv, on_error):
        """Starts argv + ["--serve-embed"] and waits for "ready"; on_error(message) must not
        return (it exits)."""
        self.on_error = on_error
        try:
            self.proc = subprocess.Popen(list(argv) + ["--serve-embed"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, bufsize=1)
        except OSError as e:
            on_error(f"cannot start {argv[0]}: {e.strerror}")
        if self.proc.stdout.readline().strip() != "ready":
            on_error(f"{argv[0]} --serve-embed did not start (exit {self.proc.wait()})")

    def turn(self, batches):
        """Wall seconds of each of `batches` batches, run back to back."""
        self.proc.stdin.write(f"{batches}\n"); self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.on_error(f"facetwin-bench --serve-embed ended early (exit {self.proc.wait()})")
        return [float(t) for t in line.split()]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()
