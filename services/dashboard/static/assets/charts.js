// The charts: canvas, no library. Bars for messages per minute, step lines for sockets and
// presence over the last 30 minutes.

import { $, fmt } from './dom.js';
import { lang } from './i18n.js';
import { SAMPLE_EVERY_MS, SERIES_WINDOW_MS, serverNow, view } from './state.js';

export function color(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();
}

function canvasContext(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = '11px system-ui, sans-serif';
  return { ctx, width, height };
}

function niceMax(value) {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return value;
}

function axes(ctx, width, height, max, pad) {
  ctx.strokeStyle = color('line');
  ctx.fillStyle = color('muted');
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i += 1) {
    const y = pad.top + ((height - pad.top - pad.bottom) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.left, Math.round(y) + 0.5);
    ctx.lineTo(width - pad.right, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.fillText(fmt(Math.round(max - (max * i) / 4)), pad.left - 6, y);
  }
}

function timeLabels(ctx, width, height, pad, start, end) {
  ctx.fillStyle = color('muted');
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  const hhmm = { hour: '2-digit', minute: '2-digit' };
  ctx.fillText(new Date(start).toLocaleTimeString(lang(), hhmm), pad.left, height - pad.bottom + 5);
  ctx.textAlign = 'right';
  ctx.fillText(new Date(end).toLocaleTimeString(lang(), hhmm), width - pad.right, height - pad.bottom + 5);
}

export function drawBars(canvas, minutes, counts) {
  const { ctx, width, height } = canvasContext(canvas);
  const pad = { top: 8, right: 8, bottom: 20, left: 40 };
  const max = niceMax(Math.max(...counts));
  axes(ctx, width, height, max, pad);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const slot = plotW / counts.length;
  ctx.fillStyle = color('accent');
  counts.forEach((n, i) => {
    if (!n) return;
    const h = (plotH * n) / max;
    ctx.fillRect(pad.left + i * slot + 1, pad.top + plotH - h, Math.max(1, slot - 2), h);
  });
  timeLabels(ctx, width, height, pad, minutes[0], minutes[minutes.length - 1]);
}

function drawLines(canvas, series) {
  const { ctx, width, height } = canvasContext(canvas);
  const pad = { top: 8, right: 8, bottom: 20, left: 40 };
  const end = serverNow();
  const start = end - SERIES_WINDOW_MS;
  const values = series.flatMap((s) => s.points.map((p) => p[1]));
  const max = niceMax(Math.max(0, ...values));
  axes(ctx, width, height, max, pad);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (at) => pad.left + (plotW * (at - start)) / (end - start);
  const y = (v) => pad.top + plotH - (plotH * v) / max;
  for (const s of series) {
    const points = s.points.filter((p) => p[0] >= start - SAMPLE_EVERY_MS);
    if (!points.length) continue;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach(([at, v], i) => {
      const px = Math.max(pad.left, x(at));
      if (i === 0) {
        ctx.moveTo(px, y(v));
      } else {
        ctx.lineTo(px, y(points[i - 1][1])); // a step: a value holds until the next one
        ctx.lineTo(px, y(v));
      }
    });
    ctx.lineTo(x(end), y(points[points.length - 1][1]));
    ctx.stroke();
    if (s.fill) {
      ctx.lineTo(x(end), y(0));
      ctx.lineTo(Math.max(pad.left, x(points[0][0])), y(0));
      ctx.closePath();
      ctx.fillStyle = s.fill;
      ctx.fill();
    }
  }
  timeLabels(ctx, width, height, pad, start, end);
}

export function drawSockets() {
  drawLines($('chart-sockets'), [{
    color: color('accent'), fill: color('accent-soft'),
    points: view.socketSeries,
  }]);
}

export function drawPresence() {
  drawLines($('chart-presence'), ['online', 'away', 'busy'].map((status) => ({
    color: color(status),
    points: view.presenceSeries.map(([at, counts]) => [at, counts[status]]),
  })));
}
