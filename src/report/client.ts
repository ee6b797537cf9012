/**
 * The report page's script (plain browser JavaScript, inlined into the HTML after uPlot's iife
 * build): reads the inlined JSON and draws every chart into its container. When done it sets
 * <html data-rendered="N" data-charts="M" data-errors="..."> so headless checks can verify
 * that every chart rendered.
 */
export const CLIENT_JS = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var root = document.documentElement;
  var rendered = 0, expected = 0, errors = [];
  var COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  // Tasks and funnel stages by the schema's names (task_names), keys unchanged in the data.
  var names = data.taskNames || {};
  function tn(task) {
    if (task === 'cvr_truth') return (names.cvr || 'CVR') + ' (truth)';
    return names[task] || task;
  }
  function sn(stage) { return (data.stageNames && data.stageNames[stage]) || stage; }

  function chart(id, title, xLabel, yLabel, xs, series, opts) {
    var el = document.querySelector('[data-chart="' + id + '"]');
    if (!el) return;
    expected++;
    try {
      opts = opts || {};
      var cols = [xs];
      var ser = [{ label: xLabel }];
      series.forEach(function (s, i) {
        cols.push(s.values);
        var one = { label: s.label, stroke: s.color || COLORS[i % COLORS.length], width: s.width === undefined ? 2 : s.width, dash: s.dash,
          points: { show: s.points !== false, size: s.pointSize || 5, fill: s.color || COLORS[i % COLORS.length] }, spanGaps: true };
        if (s.marker) one.paths = function () { return null; };
        ser.push(one);
      });
      var u = new uPlot({
        title: title, width: 520, height: 300,
        scales: { x: Object.assign({ time: false }, opts.x || {}), y: Object.assign({}, opts.y || {}) },
        axes: [Object.assign({ label: xLabel }, opts.xAxis || {}), Object.assign({ label: yLabel, size: 60 }, opts.yAxis || {})],
        series: ser,
        // live: false shows each series' name only, without empty value placeholders.
        legend: { show: true, live: false },
      }, cols, el);
      if (!el.querySelector('canvas')) throw new Error('no canvas');
      el.setAttribute('data-rendered', '1');
      rendered++;
      return u;
    } catch (e) {
      errors.push(id + ': ' + (e && e.message));
      el.setAttribute('data-error', String(e && e.message));
      el.textContent = 'chart failed: ' + (e && e.message);
    }
  }

  var pad = { range: function (u, min, max) { return min === max ? [min - 1, max + 1] : [min, max]; } };
  var unit = { range: function () { return [0, 1]; } };

  // Epoch axes tick at whole epochs only.
  var epochAxis = { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6], values: function (u, splits) { return splits.map(function (v) { return Number.isInteger(v) ? String(v) : ''; }); } };
  var h = data.history;
  if (h) {
    h.losses.forEach(function (l) {
      var series = [{ label: 'train', values: l.train }];
      if (l.validKey) series.push({ label: 'validation (' + l.validKey + ')', values: l.valid });
      if (h.bestEpoch !== undefined && h.epochs.length > 1) {
        var ref = l.validKey ? l.valid : l.train;
        series.push({ label: 'epoch kept (' + h.bestEpoch + ')', values: h.epochs.map(function (e, i) { return e === h.bestEpoch ? ref[i] : null; }), marker: true, pointSize: 12, color: '#000', width: 0 });
      }
      chart('loss_' + l.task, l.task === 'loss' ? 'weighted total loss per epoch' : 'loss ' + tn(l.task) + ' per epoch', 'epoch', 'loss', h.epochs, series,
        { x: { range: function () { return [0.8, Math.max(h.epochs.length, 1) + 0.2]; } }, xAxis: epochAxis });
    });
    if (h.stepLoss.length > 0) {
      // Exponential moving average (bias-corrected), and a y range that ignores the first steps'
      // spike so the rest of the curve is readable.
      var n = h.stepLoss.length, beta = Math.max(0.9, 1 - 20 / n), avg = 0, sm = [];
      for (var i = 0; i < n; i++) { var v = h.stepLoss[i]; if (v !== null && isFinite(v)) avg = beta * avg + (1 - beta) * v; sm.push(avg / (1 - Math.pow(beta, i + 1))); }
      var skip = Math.min(n - 1, Math.floor(n * 0.05));
      var tail = sm.slice(skip).concat(h.stepLoss.slice(skip).filter(function (x) { return x !== null && isFinite(x); }).sort(function (a, b) { return a - b; }).slice(0, Math.ceil(0.98 * (n - skip))));
      var lo = Math.min.apply(null, tail), hi = Math.max.apply(null, tail);
      chart('step_loss', 'training loss per step (smoothed)', 'step', 'loss', h.stepLoss.map(function (_, i) { return i + 1; }),
        [{ label: 'per step', values: h.stepLoss, points: false, width: 1, color: '#bbb' }, { label: 'smoothed', values: sm, points: false, width: 2 }],
        { y: { range: function () { return [Math.max(0, lo - 0.05 * (hi - lo)), hi + 0.05 * (hi - lo)]; } }, xAxis: epochAxis });
    }
  }

  // Precision-recall from the ROC points: recall = tpr, precision = tpr P / (tpr P + fpr N).
  function prOf(t) {
    var P = t.positives, N = t.rows - t.positives, rec = [], prec = [];
    for (var i = 0; i < t.roc.fpr.length; i++) {
      var tp = t.roc.tpr[i] * P, fp = t.roc.fpr[i] * N;
      if (tp + fp > 0) { rec.push(t.roc.tpr[i]); prec.push(tp / (tp + fp)); }
    }
    return { recall: rec, precision: prec, base: P / Math.max(1, t.rows) };
  }
  // Resample y(x) (x ascending, possibly repeated) on a grid, linear in between.
  function resample(xs, ys, grid) {
    return grid.map(function (g) {
      if (xs.length === 0 || g < xs[0] || g > xs[xs.length - 1]) return null;
      for (var i = 1; i < xs.length; i++) {
        if (xs[i] >= g) { var w = xs[i] === xs[i - 1] ? 1 : (g - xs[i - 1]) / (xs[i] - xs[i - 1]); return ys[i - 1] + w * (ys[i] - ys[i - 1]); }
      }
      return ys[ys.length - 1];
    });
  }
  function prChart(id, t) {
    var pr = prOf(t);
    var order = pr.recall.map(function (_, i) { return i; }).sort(function (a, b) { return pr.recall[a] - pr.recall[b]; });
    var rec = order.map(function (i) { return pr.recall[i]; }), prec = order.map(function (i) { return pr.precision[i]; });
    var top = Math.min(1, Math.max.apply(null, prec.concat([pr.base])) * 1.1);
    chart(id, 'precision-recall ' + tn(t.task) + ' (' + t.space + ', ' + t.positives + ' positives of ' + t.rows + ')', 'recall', 'precision', rec,
      [{ label: t.score, values: prec, points: false }, { label: 'base rate ' + pr.base.toExponential(2), values: rec.map(function () { return pr.base; }), color: '#999', dash: [5, 5], points: false, width: 1 }],
      { x: unit, y: { range: function () { return [0, top]; } } });
  }

  var c = data.curves;
  if (c) {
    c.tasks.forEach(function (t) {
      if (t.roc) {
        chart('roc_' + t.task, 'ROC ' + tn(t.task) + ' (' + t.space + ', AUC ' + (t.auc === null ? 'n/a' : t.auc.toFixed(4)) + ')', 'false positive rate', 'true positive rate',
          t.roc.fpr, [{ label: t.score, values: t.roc.tpr, points: false }, { label: 'chance', values: t.roc.fpr, color: '#999', dash: [5, 5], points: false, width: 1 }],
          { x: unit, y: unit });
        prChart('pr_' + t.task, t);
      }
      var bins = t.calibration.bins;
      if (bins.length > 0) {
        var bx = bins.map(function (b) { return b.predicted; });
        var maxv = Math.max.apply(null, bx.concat(bins.map(function (b) { return b.observed; }))) * 1.05 || 1;
        // The diagonal spans the whole plot: x runs from 0 to the top with no observation at the ends.
        var xs = [0].concat(bx, [maxv]);
        var obs = [null].concat(bins.map(function (b) { return b.observed; }), [null]);
        chart('cal_' + t.task, 'reliability ' + tn(t.task) + ' (' + t.space + ', ECE ' + (t.calibration.ece === null ? 'n/a' : t.calibration.ece.toExponential(2)) + ')',
          'mean predicted ' + t.score, 'observed rate of ' + sn(t.label), xs,
          [{ label: 'observed', values: obs }, { label: 'perfect', values: xs, color: '#999', dash: [5, 5], points: false, width: 1 }],
          { x: { range: function () { return [0, maxv]; } }, y: { range: function () { return [0, maxv]; } } });
      }
    });
    var stages = c.funnel.map(function (s) { return sn(s.stage); });
    chart('funnel', 'funnel: share of impressions reaching each stage', 'stage', 'rate (log scale)', stages.map(function (_, i) { return i; }),
      [{ label: 'observed', values: c.funnel.map(function (s) { return s.observed > 0 ? s.observed : null; }) }, { label: 'predicted', values: c.funnel.map(function (s) { return s.predicted > 0 ? s.predicted : null; }) }],
      { x: { range: function () { return [-0.3, stages.length - 0.7]; } }, y: { distr: 3 },
        xAxis: { incrs: [1], values: function (u, splits) { return splits.map(function (v) { return stages[v] === undefined ? '' : stages[v]; }); } } });
  }

  // Every compared model on one chart per task: ROC and PR resampled on a common grid.
  var mc = data.modelCurves;
  if (mc) {
    var names = Object.keys(mc);
    var grid = []; for (var g = 0; g <= 100; g++) grid.push(g / 100);
    ['ctr', 'cvr', 'ctcvr'].forEach(function (task) {
      var per = names.map(function (m) { return { m: m, t: mc[m].tasks.filter(function (x) { return x.task === task; })[0] }; }).filter(function (p) { return p.t && p.t.roc; });
      if (per.length === 0) return;
      chart('ovl_roc_' + task, 'ROC ' + tn(task) + ', all models', 'false positive rate', 'true positive rate', grid,
        per.map(function (p) { return { label: p.m + ' ' + (p.t.auc === null ? '' : p.t.auc.toFixed(3)), values: resample(p.t.roc.fpr, p.t.roc.tpr, grid), points: false }; }), { x: unit, y: unit });
      var prs = per.map(function (p) {
        var pr = prOf(p.t), order = pr.recall.map(function (_, i) { return i; }).sort(function (a, b) { return pr.recall[a] - pr.recall[b]; });
        return { label: p.m, values: resample(order.map(function (i) { return pr.recall[i]; }), order.map(function (i) { return pr.precision[i]; }), grid), points: false };
      });
      var topPr = Math.min(1, 1.1 * Math.max.apply(null, prs.map(function (s) { return Math.max.apply(null, s.values.filter(function (v) { return v !== null; }).concat([0])); })));
      chart('ovl_pr_' + task, 'precision-recall ' + tn(task) + ', all models', 'recall', 'precision', grid, prs, { x: unit, y: { range: function () { return [0, topPr || 1]; } } });
      var maxp = 0;
      per.forEach(function (p) { p.t.calibration.bins.forEach(function (b) { maxp = Math.max(maxp, b.predicted, b.observed); }); });
      maxp = maxp * 1.05 || 1;
      var cgrid = grid.map(function (x) { return x * maxp; });
      chart('ovl_cal_' + task, 'reliability ' + tn(task) + ', all models', 'mean predicted', 'observed rate', cgrid,
        per.map(function (p) { var b = p.t.calibration.bins; return { label: p.m, values: resample(b.map(function (x) { return x.predicted; }), b.map(function (x) { return x.observed; }), cgrid), points: false }; })
          .concat([{ label: 'perfect', values: cgrid, color: '#999', dash: [5, 5], points: false, width: 1 }]),
        { x: { range: function () { return [0, maxp]; } }, y: { range: function () { return [0, maxp]; } } });
    });
  }

  root.setAttribute('data-charts', String(expected));
  root.setAttribute('data-rendered', String(rendered));
  root.setAttribute('data-errors', errors.join('; '));
})();
`;
