// The thread that redraws out_dir/loss.svg while a run trains (see RunPlotter): requests that
// arrive while it draws are folded into one more drawing, so it never falls behind.
import { parentPort, workerData } from 'node:worker_threads';
import { writeRunPlot } from './plot.js';

const outDir = (workerData as { outDir: string }).outDir;
let drawing = false;
let again = false;
let closing = false;

async function draw(): Promise<void> {
  drawing = true;
  do {
    again = false;
    try {
      await writeRunPlot(outDir);
    } catch (e) {
      parentPort!.postMessage({ error: (e as Error).message });
    }
  } while (again);
  drawing = false;
  if (closing) parentPort!.postMessage({ closed: true });
}

parentPort!.on('message', (msg: { draw?: boolean; close?: boolean }) => {
  if (msg.close) closing = true;
  if (msg.draw) {
    if (drawing) again = true;
    else void draw();
  } else if (msg.close && !drawing) {
    parentPort!.postMessage({ closed: true });
  }
});
parentPort!.postMessage({ ready: true });
