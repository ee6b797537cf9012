"""The PyTorch side of bench/e2e.ts: `esmm train`'s work on the same CSV files, done in PyTorch.

Reads the simulator's train.csv and test.csv (CSV with the csv module and numpy: Debian's python3
has no pandas or pyarrow), fits the features as esmm does (src/features): a vocabulary per
categorical field (ids 1..n by count desc then value, 0 = OOV/missing), the multi-valued
recent_categories ('|'-separated) summed in an EmbeddingBag, numerics as tanh((x - mean) / std)
with the population std of the training rows (a missing value becomes 0).
The model is ../shared/bench/torch_esmm_bench.py's ESMM sized like esmm's: embeddings
(std 0.01, sparse grads, SparseAdam), [fields*dim | numerics] -> two ReLU towers -> 1,
pCTCVR = pCTR * pCVR, loss = BCE(click, pCTR) + BCE(buy, pCTCVR), towers Adam, Glorot-uniform
weights, zero biases except the output biases at the training base rates' log-odds (esmm's
model.output_bias_init: prior). One epoch over a seeded shuffle, every batch (the last partial
one too), then pCTR / pCTCVR AUC on the test file; with --out, the weights and the vocabularies
are saved there (torch.save), as esmm train writes its model.

usage: torch_e2e.py --train F --test F [--threads 1] [--batch 2048] [--dim 18] [--tower 360,200,80]
                    [--lr 0.001] [--seed 1] [--out FILE]
Prints one JSON line: seconds of ingest (read + fit + encode), train (the epoch), eval (+ save), and the
epoch's mean loss, the last step's loss and the test AUCs.
"""
import argparse, csv, json, math, sys, time
from collections import Counter

import numpy as np
import torch
import torch.nn as nn

CATEGORICAL = ["user_id", "item_id", "item_category", "user_segment", "position"]
MULTI, SEP = "recent_categories", "|"
NUMERIC = ["item_price", "user_activity"]
CLICK, BUY = "click", "buy"


def read_columns(path, names):
    """Column name -> list of cell strings, for the named columns only."""
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        missing = [n for n in names if n not in header]
        if missing:
            sys.exit(f"{path}: missing column(s) {', '.join(missing)}")
        idx = [header.index(n) for n in names]
        cols = [[] for _ in names]
        appends = [c.append for c in cols]
        for r in rows:
            for a, i in zip(appends, idx):
                a(r[i])
    return dict(zip(names, cols))


def fit_vocab(values):
    """esmm's VocabularyEncoder: ids 1..n by count (desc) then value; '' never gets an id."""
    counts = Counter(values)
    counts.pop("", None)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {v: k + 1 for k, (v, _) in enumerate(ordered)}


def encode(values, vocab):
    return np.fromiter((vocab.get(v, 0) for v in values), dtype=np.int64, count=len(values))


def fit_multi_vocab(cells):
    return fit_vocab(item for cell in cells for item in cell.split(SEP) if item != "")


def encode_multi(cells, vocab):
    """CSR: flat ids and offsets (len(cells) + 1); empty items are skipped, as in esmm."""
    ids, offsets = [], [0]
    for cell in cells:
        if cell != "":
            ids.extend(vocab.get(item, 0) for item in cell.split(SEP) if item != "")
        offsets.append(len(ids))
    return np.asarray(ids, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


def to_float(values):
    return np.fromiter((float(v) if v != "" else math.nan for v in values), dtype=np.float64, count=len(values))


def fit_standardize(x):
    ok = x[np.isfinite(x)]
    mean = float(ok.mean()) if ok.size else 0.0
    std = float(ok.std()) if ok.size else 0.0
    return mean, (std if std > 1e-12 else 1.0)


def standardize_tanh(x, mean, std):
    out = np.tanh((x - mean) / std)
    out[~np.isfinite(x)] = 0.0
    return out.astype(np.float32)


class Encoded:
    """One file's rows as tensors: categorical ids offset into one table, CSR multi ids, numerics, labels."""

    def __init__(self, cols, vocabs, cat_base, multi_vocab, numeric_fit):
        self.cat = torch.from_numpy(np.stack([encode(cols[f], vocabs[f]) + cat_base[k] for k, f in enumerate(CATEGORICAL)], axis=1))
        ids, off = encode_multi(cols[MULTI], multi_vocab)
        self.multi_ids, self.multi_off = torch.from_numpy(ids), torch.from_numpy(off)
        self.num = torch.from_numpy(np.stack([standardize_tanh(to_float(cols[f]), *numeric_fit[f]) for f in NUMERIC], axis=1))
        self.click = torch.from_numpy(to_float(cols[CLICK]).astype(np.float32))
        self.buy = torch.from_numpy(to_float(cols[BUY]).astype(np.float32))
        self.rows = self.cat.shape[0]

    def permuted(self, perm):
        """The rows in `perm` order, so that every batch is a contiguous slice (CSR gathered once)."""
        out = Encoded.__new__(Encoded)
        out.cat, out.num, out.click, out.buy, out.rows = self.cat[perm], self.num[perm], self.click[perm], self.buy[perm], self.rows
        starts, lengths = self.multi_off[perm], self.multi_off[perm + 1] - self.multi_off[perm]
        out.multi_off = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(lengths, 0)])
        total = int(out.multi_off[-1])
        # position j of row r's items: starts[r] + (j - out.multi_off[r])
        within = torch.arange(total) - torch.repeat_interleave(out.multi_off[:-1], lengths)
        out.multi_ids = self.multi_ids[torch.repeat_interleave(starts, lengths) + within]
        return out

    def batch(self, a, b):
        lo, hi = int(self.multi_off[a]), int(self.multi_off[b])
        return self.cat[a:b], self.multi_ids[lo:hi], self.multi_off[a:b] - lo, self.num[a:b]


class ESMM(nn.Module):
    def __init__(self, cat_rows, multi_rows, dim, tower, n_num, p_click, p_buy_given_click):
        super().__init__()
        self.emb = nn.Embedding(cat_rows, dim, sparse=True)
        self.bag = nn.EmbeddingBag(multi_rows, dim, mode="sum", sparse=True)
        nn.init.normal_(self.emb.weight, std=0.01)
        nn.init.normal_(self.bag.weight, std=0.01)
        width = (len(CATEGORICAL) + 1) * dim + n_num

        def make_tower(prior):
            layers, fan_in = [], width
            for h in tower:
                layers += [nn.Linear(fan_in, h), nn.ReLU()]
                fan_in = h
            layers.append(nn.Linear(fan_in, 1))
            for m in layers:
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.zeros_(m.bias)
            p = min(0.99, max(1e-4, prior))
            nn.init.constant_(layers[-1].bias, math.log(p / (1 - p)))
            return nn.Sequential(*layers)

        self.ctr, self.cvr = make_tower(p_click), make_tower(p_buy_given_click)

    def forward(self, cat, multi_ids, multi_off, num):
        h = torch.cat([self.emb(cat).flatten(1), self.bag(multi_ids, multi_off), num], 1)
        p_ctr = torch.sigmoid(self.ctr(h)).squeeze(1)
        p_cvr = torch.sigmoid(self.cvr(h)).squeeze(1)
        return p_ctr, p_cvr, p_ctr * p_cvr


def auc(labels, scores):
    """Rank AUC (Mann-Whitney) with tied scores at their average rank."""
    y = labels.astype(bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = (ends - (counts - 1) / 2.0)[inverse]  # 1-based average ranks
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--dim", type=int, default=18)
    ap.add_argument("--tower", default="360,200,80")
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="save the model (state_dict, vocabularies, numeric fits) to this file")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    names = CATEGORICAL + [MULTI] + NUMERIC + [CLICK, BUY]

    t0 = time.perf_counter()
    train_cols = read_columns(a.train, names)
    test_cols = read_columns(a.test, names)
    t_read = time.perf_counter() - t0
    vocabs = {f: fit_vocab(train_cols[f]) for f in CATEGORICAL}
    sizes = [len(vocabs[f]) + 1 for f in CATEGORICAL]
    cat_base = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    multi_vocab = fit_multi_vocab(train_cols[MULTI])
    numeric_fit = {f: fit_standardize(to_float(train_cols[f])) for f in NUMERIC}
    train = Encoded(train_cols, vocabs, cat_base, multi_vocab, numeric_fit)
    test = Encoded(test_cols, vocabs, cat_base, multi_vocab, numeric_fit)
    del train_cols, test_cols
    t_ingest = time.perf_counter() - t0

    t1 = time.perf_counter()
    clicks, buys = float(train.click.sum()), float(train.buy.sum())
    model = ESMM(sum(sizes), len(multi_vocab) + 1, a.dim, [int(x) for x in a.tower.split(",")], len(NUMERIC),
                 clicks / train.rows, buys / clicks if clicks > 0 else 0.5)
    sparse_opt = torch.optim.SparseAdam(list(model.emb.parameters()) + list(model.bag.parameters()), lr=a.lr)
    dense_opt = torch.optim.Adam(list(model.ctr.parameters()) + list(model.cvr.parameters()), lr=a.lr)
    bce = nn.BCELoss()
    g = torch.Generator().manual_seed(a.seed)
    data = train.permuted(torch.randperm(train.rows, generator=g))
    loss_sum, steps, last = 0.0, 0, float("nan")
    for s in range(0, data.rows, a.batch):
        e = min(data.rows, s + a.batch)
        p_ctr, _, p_ctcvr = model(*data.batch(s, e))
        loss = bce(p_ctr, data.click[s:e]) + bce(p_ctcvr, data.buy[s:e])
        sparse_opt.zero_grad()
        dense_opt.zero_grad()
        loss.backward()
        sparse_opt.step()
        dense_opt.step()
        last = loss.item()
        loss_sum += last
        steps += 1
    t_train = time.perf_counter() - t1

    t2 = time.perf_counter()
    pctr, pctcvr = [], []
    with torch.no_grad():
        for s in range(0, test.rows, 8192):
            p, _, q = model(*test.batch(s, min(test.rows, s + 8192)))
            pctr.append(p.numpy())
            pctcvr.append(q.numpy())
    pctr, pctcvr = np.concatenate(pctr), np.concatenate(pctcvr)
    auc_ctr, auc_ctcvr = auc(test.click.numpy(), pctr), auc(test.buy.numpy(), pctcvr)
    if a.out:
        torch.save({"model": model.state_dict(), "vocabs": vocabs, "multi_vocab": multi_vocab, "numeric": numeric_fit}, a.out)
    t_eval = time.perf_counter() - t2

    print(json.dumps({
        "engine": "torch", "torch": torch.__version__, "threads": a.threads, "train_rows": train.rows, "test_rows": test.rows,
        "batch": a.batch, "steps": steps, "read_s": round(t_read, 3), "ingest_s": round(t_ingest, 3),
        "train_s": round(t_train, 3), "eval_s": round(t_eval, 3), "epoch_loss": loss_sum / max(1, steps),
        "last_step_loss": last, "auc_ctr": auc_ctr, "auc_ctcvr": auc_ctcvr,
        "vocab": dict(zip(CATEGORICAL, sizes), **{MULTI: len(multi_vocab) + 1}),
    }), flush=True)


if __name__ == "__main__":
    main()
