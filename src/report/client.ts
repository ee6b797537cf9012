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
        ser.push({ label: s.label, stroke: s.color || COLORS[i % COLORS.length], width: s.width || 2, dash: s.dash,
          points: { show: s.points !== false, size: 5 }, spanGaps: true });
      });
      var u = new uPlot({
        title: title, width: 520, height: 300,
        scales: { x: Object.assign({ time: false }, opts.x || {}), y: Object.assign({}, opts.y || {}) },
        axes: [Object.assign({ label: xLabel }, opts.xAxis || {}), Object.assign({ label: yLabel, size: 60 }, opts.yAxis || {})],
        series: ser,
        legend: { show: true },
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

  var h = data.history;
  if (h) {
    h.losses.forEach(function (l) {
      var series = [{ label: 'train', values: l.train }];
      if (l.validKey) series.push({ label: 'validation (' + l.validKey + ')', values: l.valid });
      chart('loss_' + l.task, l.task === 'loss' ? 'weighted total loss per epoch' : 'loss ' + l.task + ' per epoch', 'epoch', 'loss', h.epochs, series, { x: pad });
    });
    if (h.stepLoss.length > 0) {
      chart('step_loss', 'training loss per step', 'step', 'loss', h.stepLoss.map(function (_, i) { return i + 1; }),
        [{ label: 'loss', values: h.stepLoss, points: false, width: 1 }]);
    }
  }

  var c = data.curves;
  if (c) {
    c.tasks.forEach(function (t) {
      if (t.roc) {
        chart('roc_' + t.task, 'ROC ' + t.task + ' (' + t.space + ', AUC ' + (t.auc === null ? 'n/a' : t.auc.toFixed(4)) + ')', 'false positive rate', 'true positive rate',
          t.roc.fpr, [{ label: t.score, values: t.roc.tpr, points: false }, { label: 'chance', values: t.roc.fpr, color: '#999', dash: [5, 5], points: false, width: 1 }],
          { x: unit, y: unit });
      }
      var bins = t.calibration.bins;
      if (bins.length > 0) {
        var xs = bins.map(function (b) { return b.predicted; });
        var maxv = Math.max.apply(null, xs.concat(bins.map(function (b) { return b.observed; }))) * 1.05 || 1;
        chart('cal_' + t.task, 'reliability ' + t.task + ' (' + t.space + ', ECE ' + (t.calibration.ece === null ? 'n/a' : t.calibration.ece.toExponential(2)) + ')',
          'mean predicted ' + t.score, 'observed rate of ' + t.label, xs,
          [{ label: 'observed', values: bins.map(function (b) { return b.observed; }) }, { label: 'perfect', values: xs, color: '#999', dash: [5, 5], points: false, width: 1 }],
          { x: { range: function () { return [0, maxv]; } }, y: { range: function () { return [0, maxv]; } } });
      }
    });
    var stages = c.funnel.map(function (s) { return s.stage; });
    chart('funnel', 'funnel: share of impressions reaching each stage', 'stage', 'rate (log scale)', stages.map(function (_, i) { return i; }),
      [{ label: 'observed', values: c.funnel.map(function (s) { return s.observed > 0 ? s.observed : null; }) }, { label: 'predicted', values: c.funnel.map(function (s) { return s.predicted > 0 ? s.predicted : null; }) }],
      { x: { range: function () { return [-0.3, stages.length - 0.7]; } }, y: { distr: 3 },
        xAxis: { incrs: [1], values: function (u, splits) { return splits.map(function (v) { return stages[v] === undefined ? '' : stages[v]; }); } } });
  }

  root.setAttribute('data-charts', String(expected));
  root.setAttribute('data-rendered', String(rendered));
  root.setAttribute('data-errors', errors.join('; '));
})();
`;
