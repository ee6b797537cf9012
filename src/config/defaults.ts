import type { EarlyStoppingConfig, GradNormConfig, ModelConfig, TrainConfig } from './types.js';

/** Defaults follow the ESMM paper (embedding dim 18, MLP 360x200x80, Adam) where it says. */
export const DEFAULT_MODEL: ModelConfig = {
  name: 'esmm',
  embedding_dim: 18,
  tower: [360, 200, 80],
  activation: 'relu',
  dropout: 0,
  bottom: { type: 'embedding' },
  loss_weights: {},
  loss_weighting: 'fixed',
  multi_valued_pooling: 'sum',
  towers: {},
  field_groups: {},
  pooling: {},
  aitm: { alpha: 0.6 },
  escm2: { propensity_floor: 0.01, propensity_clip: 1, self_normalize: true },
  output_bias_init: 'prior',
};

/**
 * Loss weights that are not 1 unless model.loss_weights says otherwise. ESCM2's counterfactual
 * risks (lambda in the paper) at 0.3: at weight 1 the 1 / pCTR-weighted risk outweighs the CTCVR
 * loss and pulls mean pCVR on clicked rows 20% under the observed rate after two epochs; 0.3 and
 * 0.1 gave 0.86 and 0.89 of it (issue 17, bench/escm2-convergence.ts).
 * The weight does not slow the CVR tower down: the clicked-row risk dominates that tower's gradient
 * at any weight >= 0.03 (a clicked non-buy row gets lambda / pCTR times the CTCVR loss's push), and
 * Adam / Adagrad normalise the step, so 0.03, 0.1 and 0.3 trace the same per-epoch calibration
 * (anticorr regime, seed 1, 5 epochs: clicked-row pCVR / observed 1.17-1.48-1.00-1.14-1.10,
 * 1.16-1.58-1.13-1.19-1.01, 1.21-1.47-1.04-1.13-0.87; weight 0 is ESMM: 1.18-1.20-1.23-1.28-1.34).
 * Past epoch 2 the risk memorises the clicked rows; early stopping (on by default) keeps the best epoch.
 * A slower CVR tower (model.towers.cvr.lr_scale 0.3, its dense step and its gradient into the
 * embeddings) is not the default: over 5 epochs (anticorr seeds 1, 2) it narrowed every drift
 * measure on seed 1 but widened the clicked-row one on seed 2 (ipw .52 -> .60, dr .33 -> .46),
 * and at the default 2 epochs (bench/quality.ts, seeds 1-3) it moved entire-space pCVR AUC by
 * -.031/-.026/-.001 (ipw) and -.010/+.008/-.006 (dr) on anticorr but +.025/+.036/+.007 and
 * +.017/+.049/+.010 on sparse: it depends on the data, so it stays a setting.
 */
export const DEFAULT_LOSS_WEIGHTS: Record<string, number> = { cvr_ipw: 0.3, cvr_dr: 0.3 };

/** GradNorm defaults (the paper's alpha 1.5 is its usual setting for imbalanced tasks). */
export const DEFAULT_GRADNORM: GradNormConfig = { alpha: 1.5, lr: 0.025 };

/**
 * The default stopping rule (issue 13), chosen by offline replay of one 5-epoch run per
 * (model, regime, seed) (bench/quality-rules.ts; 200k impressions, towers 128x64, 5 models x 4
 * regimes x 3 seeds). The click-space CVR loss judges pCVR where it peaks (often epoch 2-4 while the
 * CTCVR loss, dominated by its CTR part, stops at epoch 1), but on a validation split with a dozen
 * conversions it is noise (sparse regime: 11-15), so below min_conversions the CTCVR loss decides.
 * Cells (model x regime x seed) more than 0.01 entire-space pCVR AUC below their own best of
 * epochs 1..5, out of 60, at the built-in configs' then 2 epochs: 3 with this rule, 8 with logloss_ctcvr
 * (the former default) and 8 with logloss_cvr_clicked alone; 5 epochs with patience 2 did no
 * better (3 and 8). Mean test AUC against the former default: pCVR .7334 / .7319, CTR .7443 / .7449
 * (per seed -.0018..+.0002, against a seed sd of .014), CTCVR .8117 / .8110. Keeping each tower
 * from its own best epoch also gives 3 misses (CTR +.003); not built: with shared embeddings it
 * needs a second copy of every table. Judging pCVR by validation auc_cvr_clicked instead of its
 * logloss (same fallback) gives 4 misses (pCVR AUC .7338); at 1M impressions (seed 1, 15 cells,
 * bench/quality.ts --per-epoch 5) both rules miss one cell each, different ones (aitm anticorr
 * .022 under this rule, escm2_dr sparse .019 under the AUC one), so the logloss rule stays.
 *
 * Patience 2 and 5 epochs in the built-in configs (issue 13, session 24), from the same replay at
 * 1M impressions over 3 seeds (45 cells, calibrated test scores per epoch; bench/quality.ts
 * --per-epoch 5 --dump DIR, then bench/quality-rules.js): with 2 epochs the models still improving
 * at epoch 3-4 (esmm, esm2, aitm) were cut off, 8 of 45 cells missed their own best by more than
 * 0.01; 5 epochs with patience 2 missed 4 (mean pCVR AUC .7962 against .7938, CTR .7813 against
 * .7805, 4.0 epochs run on average against 2). At 200k (60 cells) it missed 3 as before (mean pCVR
 * AUC .7330 against .7334, CTR .7432 against .7443, 3.8 epochs). 4 epochs gave the same misses
 * in both; 5 leaves room for larger data, whose models peak later: at 5M (seed 1, anticorr and
 * sparse, 10 cells) it missed 0 against 1 (esmm sparse kept epoch 2; its best was epoch 5), mean
 * pCVR AUC .8280 against .8252. The demo keeps 2 epochs for time. Since esm2's buy towers changed
 * (models/families/esm2.ts), 1M misses 5 of 45 (esm2 sparse seed 2 keeps epoch 3, .0100 below its
 * epoch 4) and 5M 2 of 45 (3 seeds; esmm sparse s2, escm2_dr sparse s3, both .013); since its action
 * tower changed too, 1M misses 4 of 45 (none of them esm2's) and 5M the same 2. On each cell's
 * seed mean (the mean default against the best fixed epoch) 1 of 15 misses at 200k (naive_cvr
 * sparse .031), none at 1M or 5M. A rule keeping
 * the epoch whose validation loss averaged with its neighbours is best (bench/quality-rules.ts es-smoothed) missed 5 of 45 at
 * 1M and 13 of 60 at 200k; the level-blind logloss (Platt-refitted) and the clicked AUC with
 * patience 2 over 5 epochs missed 8 and 10 of 45 at 1M.
 */
export const DEFAULT_EARLY_STOPPING: EarlyStoppingConfig = { metric: 'logloss_cvr_clicked', patience: 2, fallback_metric: 'logloss_ctcvr', min_conversions: 30 };

export const DEFAULT_TRAIN: TrainConfig = {
  epochs: 1,
  batch_size: 2048,
  learning_rate: 0.001,
  // train.lr_decay (unset = 1, no decay; train/lr-decay.ts) multiplies both learning rates by itself
  // after each epoch. Not a default: 0.5 did not win every run (issue 17, bench/escm2-convergence.ts,
  // 200k impressions, 5 epochs, no early stopping; worst |calibration/final - 1| clicked / entire,
  // pCVR AUC fall from best; before -> after). It cut the AUC fall in all 10 runs (anticorr esmm
  // .046/.070 -> .002/.018, ipw .065/.131 -> .025/.044, dr .079/.061 -> .033/.032; sparse ipw
  // .083/.025 -> .007/.006, dr .095/.081 -> .013/.025) and both calibration gaps on sparse (ipw s1
  // 2.25/4.77 -> .67/1.96, s2 .95/3.10 -> .52/1.39; dr s1 .63/1.59 -> .57/1.21, s2 .63/1.17 ->
  // .37/.84) and anticorr ipw/dr seed 1 (.68/.73 -> .33/.18, .41/.56 -> .25/.19), but widened them
  // on anticorr esmm s1 (.11/.06 -> .29/.28) and dr s2 (.33/.27 -> .48/.36), left ipw s2's clicked
  // gap at .52, and reached the .10 calibration goal nowhere. Epoch-2 pCVR AUC (the default epochs)
  // moved -.003/-.008 (esmm), +.010/+.015 (ipw) and +.008/+.013 (dr) on anticorr, -.004/-.002 (ipw)
  // and +.002/+.030 (dr) on sparse. Default runs (early stopping on, `bench/quality.js --sizes 200000
  // --seeds 1,2,3 --regimes anticorr --tower 128,64`), test pCVR AUC without -> with 0.5: escm2_ipw
  // .740 -> .749 (+.013/+.006/+.008 per seed), escm2_dr .740 -> .744 (+.012/+.009/-.011), esmm
  // .725 -> .714 (-.019/-.005/-.006, inside the seed sd .021 but on every seed): an ESCM2 option.
  // Not an ESCM2 default either: over all four regimes (the same command with --regimes
  // anticorr,sparse,aligned,confounded --models escm2_ipw,escm2_dr) pCVR AUC rose in 18 of 24 runs
  // (mean +.008) but entire-space pCVR calibration moved further from 1 in 6 of the 8 regime x
  // model means (e.g. sparse ipw 1.54 -> 1.73, confounded dr 1.86 -> 2.07), and issue 17 is about
  // that calibration.
  // Adagrad at 10x learning_rate (train/step.ts) stays the embedding default: against Adam at 1x on
  // the quality grid (200k impressions, 3 regimes x 3 seeds, issue 17) neither wins: entire-space
  // pCVR AUC adagrad / adam, esmm anticorr .715/.723, sparse .743/.734, aligned .729/.730;
  // escm2_dr .741/.740, .727/.726, .742/.742; Adam better in 8 of 18 paired runs, every gap
  // inside the seed spread (sd .009-.033). escm2_ipw (same grid): .737/.729, .726/.732, .736/.737;
  // Adam better in 5 of 9, every gap inside the spread (sd .013-.019).
  embedding_optimizer: 'adagrad',
  // Embedding L2 stays off (issue 13 item 2 / issue 17): no regulariser tried stopped the ESCM2
  // drift past epoch 2 (bench/escm2-convergence.ts, 200k impressions, 5 epochs, no early stopping;
  // worst |calibration/final - 1| clicked / entire, pCVR AUC fall from best). embedding_l2 0.001:
  // esmm anticorr s1 .11/.06/.046 -> .08/.11/.002, but ipw anticorr .68/.73/.065 -> .65/.74/.075
  // (s1), .52/.93/.131 -> .66/.58/.067 (s2), ipw sparse s2 .95/3.10/.025 -> 2.96/4.81/.026, dr sparse
  // s2 .63/1.17/.081 -> 3.06/4.61/.070. 0.1 frequency-aware: ipw anticorr s1 .53/.78/.098, sparse s2
  // 2.79/7.41/.014; dr anticorr s2 .60/.64/.074. Larger plain values (.003, .01) slow epochs 1-2
  // (esmm anticorr s1 epoch-1 AUC .695 -> .666 / .629) and still leave ipw falling .057 / .044;
  // model.dropout 0.3 and embedding_dim 8 changed little; coupled weight_decay .001 / .01 pins esmm at
  // constant predictions (AUC .5) by epoch 2. At the default rule (bench/quality.js --per-epoch 5
  // --tower 128,64, anticorr + sparse x seeds 1, 2 x 5 models; quality-rules replay) entire-space
  // pCVR AUC moved +.0025 (0.001) and +.0053 (0.1 frequency-aware) on average, CTCVR AUC +.012 and
  // +.017 (the latter better in 20 of 20 cells), but escm2_dr on sparse lost .011/.014 and
  // .020/.013, and cells more than .01 below their own best rose from 1 to 4 and 3 of 20. With
  // aligned + confounded too (40 cells), 0.1 frequency-aware: pCVR AUC +.0034 (better in 25 of 40),
  // CTCVR AUC +.014 (38 of 40), CTR AUC +.006, misses 1 -> 6 of 40: models peak later, past epoch 2.
  // Under today's 5 epochs with patience 2 (bench/quality.js --per-epoch 5 --tower 128,64 --set
  // train.embedding_l2=0.1 --set train.embedding_l2_frequency=true, anticorr/sparse/aligned x seeds
  // 1-3, paired with the same runs without): at 200k, all five models, pCVR AUC +.0029 (better in 29
  // of 45), CTR +.0086 (34 of 45), CTCVR +.0106 (40 of 45), esmm and esm2 +.008 on average but
  // escm2_dr sparse -.020/-.021 and aitm anticorr -.020/-.018, runs more than .01 below their best
  // epoch 4 -> 6 of 45; at 1M, esmm and esm2 only, +.0021 (14 of 18), CTR better in 18 of 18,
  // misses 3 -> 0 of 18; at 5M esmm sparse -.002/+.009/-.008 and esm2 sparse seed 1 +.010 (the grid
  // was stopped there). A gain for some models inside the seed spread, a loss for others, and a
  // table store (--store) then could not keep the per-row counts the frequency-aware form needs
  // (it keeps them now): still off. Plain 0.001 under the same rule (200k, all five models, 3
  // regimes x 3 seeds, paired): pCVR AUC +.0026 (better in 26 of 45), esmm +.0083 (9 of 9) but
  // escm2_dr -.0022, runs more than .01 below their best 2 -> 4, |entire-space calibration - 1|
  // esmm .23 -> .46, escm2_dr .31 -> .47, closer to 1 in 18 of 45; at 1M (the same grid) +.0024
  // (better in 30 of 45; esmm +.0014, naive_cvr -.0009), misses 4 -> 2, calibration closer to 1
  // in 20 of 45 (esmm .36 -> .50). Inside the seed spread at both sizes, 5M not measured: off too.
  embedding_l2: 0,
  embedding_l2_frequency: false,
  optimizer: 'adam',
  weight_decay: 0,
  seed: 1,
  // On by default (issue 13): validation (a file, or data.holdout of the training rows) picks the
  // epoch, and its weights are kept. `early_stopping: false` turns it off. See DEFAULT_EARLY_STOPPING.
  early_stopping: DEFAULT_EARLY_STOPPING,
};
