/**
 * Every analysis view exports its picture (PNG, from the canvas it draws) and its numbers (CSV, RFC 4180:
 * fields with a comma, quote or newline are quoted, quotes doubled). Downloads go through a temporary
 * object URL and an <a download> click — the browser's (and Electron's) own save path.
 */
export function csvText(header: string[], rows: (string | number | null)[][]): string {
  const cell = (v: string | number | null) => {
    const s = v === null ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function downloadCsv(name: string, header: string[], rows: (string | number | null)[][]): void {
  download(name, new Blob([csvText(header, rows)], { type: 'text/csv' }));
}

export function downloadPng(name: string, canvas: HTMLCanvasElement): void {
  canvas.toBlob((b) => b && download(name, b), 'image/png');
}

/** A canvas sized for the device pixel ratio; returns its 2-D context scaled to CSS pixels. */
export function prepareCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const css = getComputedStyle(canvas);
  ctx.fillStyle = css.getPropertyValue('--panel').trim() || css.backgroundColor || '#fff';
  ctx.fillRect(0, 0, width, height);
  return ctx;
}

export function ExportButtons({ name, png, csv }: { name: string; png: () => HTMLCanvasElement | null; csv: () => { header: string[]; rows: (string | number | null)[][] } }) {
  return (
    <span className="export-buttons">
      <button data-testid={`${name}-png`} onClick={() => { const c = png(); if (c) downloadPng(`${name}.png`, c); }} title="save the picture">
        PNG
      </button>
      <button data-testid={`${name}-csv`} onClick={() => { const d = csv(); downloadCsv(`${name}.csv`, d.header, d.rows); }} title="save the numbers">
        CSV
      </button>
    </span>
  );
}
