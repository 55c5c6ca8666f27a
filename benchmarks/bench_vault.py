"""Vault benchmark: every figure is a ratio against a baseline measured in the same run.

    python benchmarks/bench_vault.py [--entries 1000]

* unlock vs one raw PBKDF2-HMAC-SHA256 derivation with the vault's parameters (≈1x: unlock
  is one derivation plus reading one file);
* store + retrieve of one entry vs unlock (target: under 1% — nothing is derived after
  unlock), and store vs the disk's floor: two durable file replaces (write, fsync, rename,
  fsync the folder), which is what a crash-safe store has to do;
* search over all entries, in ms;
* change_password on the full vault vs unlock (it re-wraps one key and re-encrypts no entry,
  so its cost does not grow with the vault: two derivations, checking the old password and
  wrapping with the new one).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from timing import median_of

from activemirror_jupyter import VaultCategory, VaultMemory
from activemirror_jupyter.core.vault import format as vault_format
from activemirror_jupyter.core.vault import header as vault_header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    args = parser.parse_args()
    n = args.entries

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vault"
        password = "benchmark password"
        vault = VaultMemory(password, path)  # default parameters: 600,000 iterations
        index = path / vault_format.INDEX_FILE
        header = vault_header.parse_header(index.read_bytes(), index)

        def raw_derivation() -> None:
            kdf = PBKDF2HMAC(
                algorithm=hashes.SHA256(),
                length=32,
                salt=header.salt,
                iterations=header.iterations,
            )
            kdf.derive(password.encode())

        derive_s = median_of(raw_derivation)
        unlock_s = median_of(lambda: VaultMemory(password, path))

        small = VaultMemory(password, Path(tmp) / "small")
        for i in range(10):
            small.store(f"k{i}", i)

        start = time.perf_counter()
        for i in range(n):
            meta = {"category": VaultCategory.KNOWLEDGE, "tags": [f"t{i % 7}", "bench"]}
            vault.store(f"entry-{i:05d}", {"text": f"note number {i}", "n": i}, metadata=meta)
        store_s = (time.perf_counter() - start) / n
        start = time.perf_counter()
        for i in range(n):
            vault.retrieve(f"entry-{i:05d}")
        retrieve_s = (time.perf_counter() - start) / n
        last_store_s = median_of(lambda: vault.store(f"entry-{n - 1:05d}", "overwrite"), repeat=5)

        # the floor under any durable store: two files made durable and renamed in place
        # (entry, then index), each followed by a folder fsync, as the vault does
        def two_durable_replaces() -> None:
            for name in ("a", "b"):
                target = Path(tmp) / name
                with open(target.with_suffix(".tmp"), "wb") as f:
                    f.write(b"x" * 200)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(target.with_suffix(".tmp"), target)
                fd = os.open(tmp, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)

        flush_s = median_of(two_durable_replaces, repeat=21)

        search_s = median_of(lambda: vault.search("number 99"))
        hits = len(vault.search("number 99"))

        passwords = iter([password, "second", "third", "fourth", "fifth"])
        current = [next(passwords)]

        def rotate(v: VaultMemory) -> None:
            new = next(passwords)
            v.change_password(current[0], new)
            current[0] = new

        change_s = median_of(lambda: rotate(vault))
        small_current = [password]

        def rotate_small() -> None:
            new = small_current[0] + "!"
            small.change_password(small_current[0], new)
            small_current[0] = new

        change_small_s = median_of(rotate_small)

    print(f"vault benchmark: {header.iterations:,} PBKDF2 iterations, {n:,} entries")
    print(f"  raw PBKDF2 derivation           {derive_s * 1000:9.1f} ms  (baseline)")
    print(
        f"  unlock                          {unlock_s * 1000:9.1f} ms  "
        f"{unlock_s / derive_s:6.2f}x derivation"
    )
    print(
        f"  store + retrieve, per entry     {(store_s + retrieve_s) * 1000:9.3f} ms  "
        f"{(store_s + retrieve_s) / unlock_s:6.2%} of unlock "
        f"(store {store_s * 1000:.3f} ms, retrieve {retrieve_s * 1000:.3f} ms)"
    )
    print(
        f"  two durable file replaces       {flush_s * 1000:9.3f} ms  "
        f"{flush_s / unlock_s:6.2%} of unlock (the disk's floor under one store; "
        f"store is {store_s / flush_s:.2f}x this)"
    )
    print(
        f"  store at {n:,} entries            {last_store_s * 1000:9.3f} ms  "
        f"{last_store_s / unlock_s:6.2%} of unlock (the index grows with the vault)"
    )
    print(f"  search over {n:,} entries        {search_s * 1000:9.1f} ms  ({hits} hits)")
    print(
        f"  change_password, {n:,} entries   {change_s * 1000:9.1f} ms  "
        f"{change_s / unlock_s:6.2f}x unlock"
    )
    print(
        f"  change_password, 10 entries     {change_small_s * 1000:9.1f} ms  "
        f"{change_small_s / unlock_s:6.2f}x unlock (same: nothing re-encrypted)"
    )


if __name__ == "__main__":
    main()
