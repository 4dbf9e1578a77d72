/**
 * A canvas to draw a digit on, and its conversion to an MNIST-like input: white ink on black,
 * the ink's bounding box scaled to fit 20 x 20 pixels (aspect kept) and placed so its center of
 * mass sits at the center of the 28 x 28 image, as the MNIST digits were prepared.
 */
import { PIXELS, SIDE } from './mnist.js';

/** Intensity image: `values[y * width + x]` in [0, 1]. */
export interface Gray {
  values: Float32Array;
  width: number;
  height: number;
}

/** The 784 MNIST-like pixels of a drawing, or null when nothing is drawn. */
export function toMnistInput(img: Gray, box = 20, threshold = 0.05): Float32Array | null {
  const { values, width, height } = img;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = values[y * width + x];
      if (v <= threshold) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  if (x1 < 0) return null;
  const scale = box / Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const cx = mx / mass;
  const cy = my / mass;
  // each output pixel averages an n x n grid of source samples over its footprint
  const n = Math.max(1, Math.min(8, Math.ceil(1 / scale)));
  const out = new Float32Array(PIXELS);
  const half = SIDE / 2;
  for (let oy = 0; oy < SIDE; oy++) {
    for (let ox = 0; ox < SIDE; ox++) {
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const sy = Math.floor(cy + (oy + (j + 0.5) / n - half) / scale);
        if (sy < 0 || sy >= height) continue;
        for (let i = 0; i < n; i++) {
          const sx = Math.floor(cx + (ox + (i + 0.5) / n - half) / scale);
          if (sx >= 0 && sx < width) sum += values[sy * width + sx];
        }
      }
      out[oy * SIDE + ox] = Math.min(1, sum / (n * n));
    }
  }
  return out;
}

export class DrawPad {
  private drawing = false;
  private last: [number, number] | null = null;
  private pending = false;

  /** `onChange` gets the MNIST-like input (null when cleared), throttled while drawing. */
  constructor(
    readonly canvas: HTMLCanvasElement,
    readonly preview: HTMLCanvasElement,
    private readonly onChange: (input: Float32Array | null) => void,
  ) {
    this.clear();
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.drawing = true;
      this.last = this.point(e);
      this.stroke(this.last, this.last);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.drawing || !this.last) return;
      const p = this.point(e);
      this.stroke(this.last, p);
      this.last = p;
      this.schedule();
    });
    const end = () => {
      if (!this.drawing) return;
      this.drawing = false;
      this.last = null;
      this.emit();
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  private ctx(): CanvasRenderingContext2D {
    return this.canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  }

  private point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [
      ((e.clientX - r.left) * this.canvas.width) / r.width,
      ((e.clientY - r.top) * this.canvas.height) / r.height,
    ];
  }

  private stroke(a: [number, number], b: [number, number]): void {
    const ctx = this.ctx();
    ctx.strokeStyle = '#ffffff';
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = this.canvas.width / 13;
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      this.emit();
    }, 100);
  }

  clear(): void {
    const ctx = this.ctx();
    ctx.fillStyle = '#000000';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.showPreview(null);
    this.onChange(null);
  }

  /** The drawing as the model sees it. */
  input(): Float32Array | null {
    const { width, height } = this.canvas;
    const rgba = this.ctx().getImageData(0, 0, width, height).data;
    const values = new Float32Array(width * height);
    for (let i = 0; i < values.length; i++) values[i] = rgba[4 * i] / 255;
    return toMnistInput({ values, width, height });
  }

  private emit(): void {
    const input = this.input();
    this.showPreview(input);
    this.onChange(input);
  }

  private showPreview(input: Float32Array | null): void {
    const ctx = this.preview.getContext('2d') as CanvasRenderingContext2D;
    const img = ctx.createImageData(SIDE, SIDE);
    for (let i = 0; i < PIXELS; i++) {
      const v = Math.round(255 * (input?.[i] ?? 0));
      img.data.set([v, v, v, 255], 4 * i);
    }
    this.preview.width = SIDE;
    this.preview.height = SIDE;
    ctx.putImageData(img, 0, 0);
  }
}
