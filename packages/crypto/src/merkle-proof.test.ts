import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { emptyRoot, hashChildren, hashLeaf } from "./merkle-hasher";
import {
  consistencyProof,
  inclusionProof,
  merkleRoot,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from "./merkle-proof";

type Rfc6962 = {
  leaf_hashes: string[];
  root_hashes: { by_tree_size: { tree_size: number; root: string }[] };
  inclusion_proofs: {
    vectors: { leaf_index: number; tree_size: number; leaf_hash: string; root: string; proof: string[] }[];
  };
  consistency_proofs: {
    vectors: { first: number; second: number; first_root: string; second_root: string; proof: string[] }[];
  };
};
type InclusionProbe = {
  file?: string;
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
};
type ConsistencyProbe = {
  file?: string;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
};

const FIXTURES = new URL("../test/fixtures/merkle/", import.meta.url);
// Pinned public vectors (test/fixtures/SOURCES.md); shape drift fails the assertions.
function readJson<T>(relativePath: string): T {
  return JSON.parse(readFileSync(new URL(relativePath, FIXTURES), "utf8")) as T;
}

const rfc = readJson<Rfc6962>("rfc6962.json");
const probes = readJson<{ inclusion: InclusionProbe[]; consistency: ConsistencyProbe[] }>(
  "rfc6962-probes.json",
);
const TESTDATA_DIR = fileURLToPath(new URL("transparency-dev-testdata/testdata/", FIXTURES));

const hex = (value: string) => Buffer.from(value, "hex");
const b64 = (value: string) => Buffer.from(value, "base64");
const leafHashes = rfc.leaf_hashes.map(hex);

function listJsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? listJsonFiles(join(dir, entry.name))
        : entry.name.endsWith(".json")
          ? [join(dir, entry.name)]
          : [],
    )
    .sort();
}

function runInclusionProbe(probe: InclusionProbe, decode: (value: string) => Buffer) {
  return verifyInclusion({
    leafIndex: probe.leafIdx,
    treeSize: probe.treeSize,
    leafHash: decode(probe.leafHash),
    // Go's nil slice and [] are the same empty proof.
    proof: (probe.proof ?? []).map(decode),
    root: decode(probe.root),
  });
}

function runConsistencyProbe(probe: ConsistencyProbe, decode: (value: string) => Buffer) {
  return verifyConsistency({
    size1: probe.size1,
    size2: probe.size2,
    root1: decode(probe.root1),
    root2: decode(probe.root2),
    proof: (probe.proof ?? []).map(decode),
  });
}

/** Independent reference: RFC 6962 MTH written straight from the definition. */
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0] ?? emptyRoot();
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return hashChildren(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

function makeLeaves(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => hashLeaf(`entry ${i}`));
}

function flipBit(bytes: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return copy;
}

describe("RFC 6962 roots — sizes 0 to 8", () => {
  it.each(rfc.root_hashes.by_tree_size.map((r) => [r.tree_size, r.root] as const))(
    "size %i",
    (size, root) => {
      expect(merkleRoot(leafHashes.slice(0, size)).toString("hex")).toBe(root);
    },
  );

  it("a corrupted root vector makes the check fail", () => {
    for (const { tree_size, root } of rfc.root_hashes.by_tree_size) {
      const corrupted = flipBit(hex(root), 0).toString("hex");
      expect(merkleRoot(leafHashes.slice(0, tree_size)).toString("hex")).not.toBe(corrupted);
    }
  });
});

describe("inclusion proof table", () => {
  it.each(rfc.inclusion_proofs.vectors.map((v) => [v.leaf_index, v.tree_size, v] as const))(
    "leaf %i of %i: generated proof matches and verifies",
    (_, __, vector) => {
      const leaves = leafHashes.slice(0, vector.tree_size);
      expect(inclusionProof(leaves, vector.leaf_index).map((h) => h.toString("hex"))).toEqual(vector.proof);
      expect(
        verifyInclusion({
          leafIndex: vector.leaf_index,
          treeSize: vector.tree_size,
          leafHash: hex(vector.leaf_hash),
          proof: vector.proof.map(hex),
          root: hex(vector.root),
        }),
      ).toEqual({ ok: true });
    },
  );

  it("a corrupted vector makes verification fail", () => {
    for (const vector of rfc.inclusion_proofs.vectors) {
      const result = verifyInclusion({
        leafIndex: vector.leaf_index,
        treeSize: vector.tree_size,
        leafHash: hex(vector.leaf_hash),
        proof: vector.proof.map(hex),
        root: flipBit(hex(vector.root), 7),
      });
      expect(result.ok).toBe(false);
    }
  });
});

describe("consistency proof table", () => {
  it.each(rfc.consistency_proofs.vectors.map((v) => [v.first, v.second, v] as const))(
    "%i → %i: generated proof matches and verifies",
    (_, __, vector) => {
      const leaves = leafHashes.slice(0, vector.second);
      expect(consistencyProof(leaves, vector.first).map((h) => h.toString("hex"))).toEqual(vector.proof);
      expect(
        verifyConsistency({
          size1: vector.first,
          size2: vector.second,
          root1: hex(vector.first_root),
          root2: hex(vector.second_root),
          proof: vector.proof.map(hex),
        }),
      ).toEqual({ ok: true });
    },
  );

  it("a corrupted vector makes verification fail", () => {
    for (const vector of rfc.consistency_proofs.vectors) {
      const result = verifyConsistency({
        size1: vector.first,
        size2: vector.second,
        root1: hex(vector.first_root),
        root2: flipBit(hex(vector.second_root), 0),
        proof: vector.proof.map(hex),
      });
      expect(result.ok).toBe(false);
    }
  });
});

describe("transparency-dev golden probes (hex conversion)", () => {
  it("holds 98 inclusion and 98 consistency probes", () => {
    expect(probes.inclusion).toHaveLength(98);
    expect(probes.consistency).toHaveLength(98);
  });

  it.each(probes.inclusion.map((p) => [p.file, p] as const))("inclusion %s", (_, probe) => {
    expect(runInclusionProbe(probe, hex).ok).toBe(!probe.wantErr);
  });

  it.each(probes.consistency.map((p) => [p.file, p] as const))("consistency %s", (_, probe) => {
    expect(runConsistencyProbe(probe, hex).ok).toBe(!probe.wantErr);
  });

  it("a corrupted happy path is rejected", () => {
    const happyInclusion = probes.inclusion.filter((p) => !p.wantErr);
    const happyConsistency = probes.consistency.filter((p) => !p.wantErr);
    expect(happyInclusion.length).toBeGreaterThan(0);
    expect(happyConsistency.length).toBeGreaterThan(0);
    for (const probe of happyInclusion) {
      const corrupted = { ...probe, root: flipBit(hex(probe.root), 3).toString("hex") };
      expect(runInclusionProbe(corrupted, hex).ok).toBe(false);
    }
    for (const probe of happyConsistency) {
      const corrupted = { ...probe, root2: flipBit(hex(probe.root2), 3).toString("hex") };
      expect(runConsistencyProbe(corrupted, hex).ok).toBe(false);
    }
  });

  it("rejects uint64 indexes given exactly as bigint (leafIdx-sub-@1 is 2^64 - 1)", () => {
    for (const probe of probes.inclusion.filter((p) => p.desc === "leafIdx sub @1")) {
      const base = {
        treeSize: probe.treeSize,
        leafHash: hex(probe.leafHash),
        proof: (probe.proof ?? []).map(hex),
        root: hex(probe.root),
      };
      expect(verifyInclusion({ ...base, leafIndex: 2n ** 64n - 1n }).ok).toBe(false);
      expect(verifyInclusion({ ...base, leafIndex: -1 }).ok).toBe(false);
      expect(verifyInclusion({ ...base, leafIndex: 2n ** 64n }).ok).toBe(false);
    }
  });
});

describe("transparency-dev golden probes (original base64 files)", () => {
  const files = listJsonFiles(TESTDATA_DIR);
  const relativeName = (file: string) => `testdata/${relative(TESTDATA_DIR, file)}`;

  it("are the same 196 files the hex conversion lists", () => {
    const listed = [...probes.inclusion, ...probes.consistency].map((p) => p.file).sort();
    expect(files.map(relativeName)).toEqual(listed);
  });

  it.each(files.map((file) => [relativeName(file), file] as const))("%s", (name, file) => {
    const text = readFileSync(file, "utf8");
    const isHappyPath = name.endsWith("/happy-path.json");
    if (name.startsWith("testdata/inclusion/")) {
      const probe = JSON.parse(text) as InclusionProbe;
      if (isHappyPath) expect(probe.wantErr).toBe(false);
      expect(runInclusionProbe(probe, b64).ok).toBe(!probe.wantErr);
    } else {
      const probe = JSON.parse(text) as ConsistencyProbe;
      if (isHappyPath) expect(probe.wantErr).toBe(false);
      expect(runConsistencyProbe(probe, b64).ok).toBe(!probe.wantErr);
    }
  });
});

describe("transparency-dev golden probes (original base64 files) — corrupted", () => {
  it("every happy-path file is rejected once one bit of its proof or root is flipped", () => {
    const happy = listJsonFiles(TESTDATA_DIR).filter((file) => file.endsWith("happy-path.json"));
    expect(happy.length).toBe(10);
    for (const file of happy) {
      const probe = JSON.parse(readFileSync(file, "utf8")) as InclusionProbe | ConsistencyProbe;
      if ("leafHash" in probe) {
        const corrupted = { ...probe, leafHash: flipBit(b64(probe.leafHash), 255).toString("base64") };
        expect(runInclusionProbe(corrupted, b64).ok).toBe(false);
      } else {
        const corrupted = { ...probe, root1: flipBit(b64(probe.root1), 128).toString("base64") };
        expect(runConsistencyProbe(corrupted, b64).ok).toBe(false);
      }
    }
  });
});

describe("property: proofs for every index and size", () => {
  it("inclusion proofs for all leaves of trees up to 64 verify, and fail for the wrong leaf or index", () => {
    const all = makeLeaves(64);
    for (let size = 1; size <= 64; size++) {
      const leaves = all.slice(0, size);
      const root = merkleRoot(leaves);
      expect(root.equals(referenceRoot(leaves))).toBe(true);
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(leaves, index);
        const leafHash = leaves[index] ?? Buffer.alloc(0);
        expect(verifyInclusion({ leafIndex: index, treeSize: size, leafHash, proof, root })).toEqual({
          ok: true,
        });
        const computed = rootFromInclusionProof({ leafIndex: index, treeSize: size, leafHash, proof });
        expect(computed.ok && computed.root.equals(root)).toBe(true);
        const otherLeaf = all[(index + 1) % 64] ?? Buffer.alloc(32);
        expect(
          verifyInclusion({ leafIndex: index, treeSize: size, leafHash: otherLeaf, proof, root }).ok,
        ).toBe(false);
        if (size > 1) {
          const otherIndex = (index + 1) % size;
          expect(verifyInclusion({ leafIndex: otherIndex, treeSize: size, leafHash, proof, root }).ok).toBe(
            false,
          );
        }
      }
    }
  });

  it("consistency proofs for all 1 ≤ m ≤ n ≤ 32 verify, and fail with a tampered old tree", () => {
    const all = makeLeaves(32);
    const roots = Array.from({ length: 33 }, (_, size) => merkleRoot(all.slice(0, size)));
    for (let n = 1; n <= 32; n++) {
      const leaves = all.slice(0, n);
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(leaves, m);
        const root1 = roots[m] ?? Buffer.alloc(0);
        const root2 = roots[n] ?? Buffer.alloc(0);
        expect(verifyConsistency({ size1: m, size2: n, root1, root2, proof })).toEqual({ ok: true });
        // A log that rewrote leaf 0 has a different old root; the proof must not bridge it.
        const forkedRoot1 = merkleRoot([hashLeaf("forged"), ...all.slice(1, m)]);
        expect(verifyConsistency({ size1: m, size2: n, root1: forkedRoot1, root2, proof }).ok).toBe(false);
        if (proof.length > 0) {
          const tampered = proof.map((h, i) => (i === proof.length - 1 ? flipBit(h, 5) : h));
          expect(verifyConsistency({ size1: m, size2: n, root1, root2, proof: tampered }).ok).toBe(false);
        }
      }
    }
  });
});

describe("generation arguments", () => {
  it("empty input gives the empty root", () => {
    expect(merkleRoot([]).equals(emptyRoot())).toBe(true);
  });

  it("throws RangeError for impossible proofs", () => {
    const leaves = makeLeaves(4);
    expect(() => inclusionProof(leaves, 4)).toThrow(RangeError);
    expect(() => inclusionProof(leaves, -1)).toThrow(RangeError);
    expect(() => inclusionProof([], 0)).toThrow(RangeError);
    expect(() => consistencyProof(leaves, 0)).toThrow(RangeError);
    expect(() => consistencyProof(leaves, 5)).toThrow(RangeError);
    expect(consistencyProof(leaves, 4)).toEqual([]);
  });

  it("refuses leaf hashes that are not 32 bytes", () => {
    expect(() => merkleRoot([Buffer.alloc(31)])).toThrow(TypeError);
  });
});

describe("verification never throws on junk", () => {
  const junk: unknown[] = [
    undefined,
    null,
    "",
    "00",
    1.5,
    -1,
    Number.NaN,
    {},
    [],
    [1],
    Buffer.alloc(31),
    2n ** 65n,
  ];
  const good = {
    leafIndex: 0,
    treeSize: 1,
    leafHash: hashLeaf("x"),
    proof: [] as Buffer[],
    root: hashLeaf("x"),
  };

  it("verifyInclusion", () => {
    expect(verifyInclusion(good)).toEqual({ ok: true });
    expect(verifyInclusion(null as unknown as typeof good).ok).toBe(false);
    for (const field of Object.keys(good)) {
      for (const value of junk) {
        // An empty proof is the correct proof for a one-leaf tree, not junk.
        if (field === "proof" && Array.isArray(value) && value.length === 0) continue;
        const result = verifyInclusion({ ...good, [field]: value } as typeof good);
        expect(result.ok).toBe(false);
      }
    }
  });

  it("verifyConsistency", () => {
    const leaves = makeLeaves(3);
    const base = {
      size1: 2,
      size2: 3,
      root1: merkleRoot(leaves.slice(0, 2)),
      root2: merkleRoot(leaves),
      proof: consistencyProof(leaves, 2),
    };
    expect(verifyConsistency(base)).toEqual({ ok: true });
    expect(verifyConsistency(undefined as unknown as typeof base).ok).toBe(false);
    for (const field of Object.keys(base)) {
      for (const value of junk) {
        const result = verifyConsistency({ ...base, [field]: value } as typeof base);
        expect(result.ok).toBe(false);
      }
    }
  });
});
