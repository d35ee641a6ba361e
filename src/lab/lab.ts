/**
 * The lecture's pipeline as one stateful object for interactive use (the web page runs one in a
 * Web Worker, behind rpc.ts): a text, a tokenizer and its train/val tokens, batches, a model
 * trained with pause / resume / stop, sampling, next-token probabilities, attention maps, and
 * checkpoints as bytes. Plain data in and out, so it crosses postMessage as it is; progress
 * goes out through `emit`. Browser-safe: no Node imports.
 */
import type { Backend } from '../backend/backend.js';
import { BatchSampler } from '../data/batches.js';
import { countCodePoints, encodeSplits, type EncodedSplits } from '../data/text-split.js';
import { UserError } from '../errors.js';
import { writeSafetensors } from '../io/safetensors.js';
import { samplingGenerator } from '../models/factory.js';
import { generateTokens } from '../models/generate.js';
import { GPT } from '../models/gpt.js';
import { attentionMaps, nextTokenDistribution } from '../models/inspect.js';
import type { LanguageModel } from '../models/model.js';
import { IntTensor } from '../tensor/tensor.js';
import { BpeTokenizer } from '../tokenizers/bpe/tokenizer.js';
import type { TrainedMerge } from '../tokenizers/bpe/train.js';
import { CharTokenizer } from '../tokenizers/char.js';
import { tokenizerFromSpecAsync } from '../tokenizers/index.js';
import type { TiktokenLoader } from '../tokenizers/tiktoken/load.js';
import type { Tokenizer } from '../tokenizers/types.js';
import { loadCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';
import { resolveConfig, type TrainConfig } from '../train/config.js';
import { Trainer } from '../train/trainer.js';
import { tokenPiece, tokenPieces } from './pieces.js';

export type LabEvent =
  | { type: 'merges'; merges: { id: number; piece: string; count: number }[]; done: number; total: number }
  | { type: 'step'; iter: number; loss: number; lr: number; ms: number }
  | { type: 'eval'; iter: number; train: number; val: number }
  | { type: 'text'; text: string };

export interface LabOptions {
  /**
   * Compute backends by name, in order of preference (e.g. webgpu, wasm-threads, wasm): each
   * factory gives the backend and a description for people ("wasm, 4 threads"), or throws.
   * `auto` is true when the backend was not named: a factory may then decline what it would
   * give when asked by name (WebGPU on a software adapter, slower than wasm).
   */
  backends: Record<string, (opts: { auto: boolean }) => Promise<{ backend: Backend; description: string }>>;
  tiktoken: TiktokenLoader;
  emit: (e: LabEvent) => void;
}

/** char, gpt2, cl100k_base, o200k_base, or bpe (trained on the text at vocabSize, GPT-4's split pattern). */
export interface TokenizeRequest { tokenizer: string; vocabSize?: number; previewChars?: number }

export interface TokenizeResult {
  tokenizer: string;
  vocabSize: number;
  chars: number;
  trainTokens: number;
  valTokens: number;
  ms: number;
  /** The first previewChars of the text as tokens. */
  preview: { ids: number[]; pieces: string[] };
}

export interface SampleRequest {
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK: number | null;
  topP: number | null;
  seed: number;
}

export interface TrainRequest {
  /** A built-in config name (shakespeare_char_cpu, bigram_shakespeare_char...). */
  config: string;
  /** nanoGPT-named values over it. */
  overrides: Record<string, string | number | boolean>;
  /** Start a new model even where a run (or a loaded checkpoint) could be continued. */
  fresh: boolean;
}

export interface ModelInfo {
  kind: string;
  params: number;
  iter: number;
  config: TrainConfig;
  tokenizer: string;
}

export class Lab {
  private text = '';
  private tokenizer: Tokenizer | null = null;
  private tokenizerName = '';
  private splits: EncodedSplits | null = null;
  private backend: Backend | null = null;
  private backendName = '';
  private backendDescription = '';
  private model: LanguageModel | null = null;
  /** The tokenizer the model reads and writes. */
  private modelTokenizer: Tokenizer | null = null;
  private trainer: Trainer | null = null;
  /** The last run, kept after stop() so that its model can still be saved with its AdamW state. */
  private lastTrainer: Trainer | null = null;
  /** A loaded checkpoint that the next train() continues. */
  private resume: LoadedCheckpoint | null = null;
  /** The bytes of the opened checkpoint, given back unchanged until it trains. */
  private openedBytes: Uint8Array | null = null;
  private openedName = '';
  private running: AbortController | null = null;
  private sampling: AbortController | null = null;

  constructor(private readonly opts: LabOptions) {}

  /**
   * Creates the backend `name` (or the first of the names that loads; all of them in order
   * when none is given); later models live on it, and an opened checkpoint moves to it.
   */
  async useBackend(name?: string | string[]): Promise<{ name: string; description: string; tried: string[] }> {
    if (this.running) throw new UserError('the model is training: stop it before changing the backend');
    const names = name === undefined ? Object.keys(this.opts.backends) : typeof name === 'string' ? [name] : name;
    const tried: string[] = [];
    for (const n of names) {
      const make = this.opts.backends[n];
      if (!make) throw new UserError(`unknown backend ${JSON.stringify(n)}; expected one of ${Object.keys(this.opts.backends).join(', ')}`);
      try {
        const made = await make({ auto: name === undefined });
        this.backend = made.backend;
        this.backendName = n;
        this.backendDescription = made.description;
        if (this.resume && this.openedBytes && this.model === this.resume.model) {
          // an opened checkpoint not yet continued: its model and AdamW state move to the new backend
          this.resume = loadCheckpoint(this.openedBytes, this.openedName, { backend: made.backend });
          this.model = this.resume.model;
        }
        return { name: n, description: made.description, tried };
      } catch (e) {
        tried.push(`${n}: ${(e as Error).message}`);
      }
    }
    throw new Error(`no backend could start: ${tried.join('; ')}`);
  }

  setText(text: string): { chars: number } {
    if (text.length === 0) throw new UserError('the text is empty');
    this.text = text;
    this.tokenizer = null;
    this.splits = null;
    return { chars: countCodePoints(text) };
  }

  async tokenize(req: TokenizeRequest): Promise<TokenizeResult> {
    if (!this.text) throw new UserError('no text yet: pick Tiny Shakespeare or paste some text');
    const t0 = performance.now();
    const tokenizer = await this.makeTokenizer(req);
    this.useTokenizer(tokenizer, req.tokenizer);
    const previewText = this.text.slice(0, req.previewChars ?? 2000);
    const ids = tokenizer.encode(previewText);
    return {
      tokenizer: req.tokenizer, vocabSize: tokenizer.vocabSize, chars: countCodePoints(this.text),
      trainTokens: this.splits!.train.length, valTokens: this.splits!.val.length, ms: performance.now() - t0,
      preview: { ids, pieces: tokenPieces(tokenizer, ids) },
    };
  }

  private async makeTokenizer(req: TokenizeRequest): Promise<Tokenizer> {
    if (req.tokenizer === 'char') return CharTokenizer.fromText(this.text);
    if (req.tokenizer === 'bpe') return this.trainBpe(req.vocabSize ?? 512);
    return this.opts.tiktoken.load(req.tokenizer);
  }

  /** minbpe's RegexTokenizer with GPT-4's pattern, merges sent out (about every 50 ms) as they are learned. */
  private trainBpe(vocabSize: number): Tokenizer {
    const pieces = new Map<number, Uint8Array>();
    for (let b = 0; b < 256; b++) pieces.set(b, Uint8Array.of(b));
    const decoder = new TextDecoder('utf-8', { fatal: false });
    let batch: { id: number; piece: string; count: number }[] = [];
    let last = performance.now();
    const total = vocabSize - 256;
    const onMerge = (m: TrainedMerge) => {
      const l = pieces.get(m.left)!, r = pieces.get(m.right)!;
      const bytes = new Uint8Array(l.length + r.length);
      bytes.set(l);
      bytes.set(r, l.length);
      pieces.set(m.id, bytes);
      batch.push({ id: m.id, piece: decoder.decode(bytes), count: m.count });
      if (performance.now() - last > 50 || m.id === vocabSize - 1) {
        this.opts.emit({ type: 'merges', merges: batch, done: m.id - 255, total });
        batch = [];
        last = performance.now();
      }
    };
    const tok = BpeTokenizer.train(this.text, vocabSize, 'gpt4', {}, onMerge);
    if (batch.length) this.opts.emit({ type: 'merges', merges: batch, done: total, total });
    return tok;
  }

  private useTokenizer(tokenizer: Tokenizer, name: string): void {
    const splits = encodeSplits(this.text, tokenizer);
    if (splits.val.length < 2) throw new UserError(`the text gives only ${splits.train.length + splits.val.length} tokens: too few for a train/val split`);
    this.tokenizer = tokenizer;
    this.tokenizerName = name;
    this.splits = splits;
  }

  /** get_batch from the current tokens: x and y [batchSize, blockSize] with each token's piece. */
  batch(req: { batchSize: number; blockSize: number; seed: number; split: 'train' | 'val' }): { x: number[]; y: number[]; xPieces: string[]; yPieces: string[] } {
    if (!this.splits || !this.tokenizer) throw new UserError('tokenize the text first');
    const sampler = new BatchSampler({ train: this.splits.train, val: this.splits.val }, req.batchSize, req.blockSize, req.seed);
    const { x, y } = sampler.getBatch(req.split);
    return { x: Array.from(x.data), y: Array.from(y.data), xPieces: tokenPieces(this.tokenizer, x.data), yPieces: tokenPieces(this.tokenizer, y.data) };
  }

  /** The config a train request resolves to (checked as `yorick train` checks it). */
  resolveTrainConfig(req: Pick<TrainRequest, 'config' | 'overrides'>): TrainConfig {
    const flags: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.overrides)) flags[k] = String(v);
    return resolveConfig({ name: req.config }, flags);
  }

  /**
   * Trains until max_iters or pause() / stop(); step and eval events go out as it runs. A paused
   * run continues where it stopped (the same losses as a run never paused); a loaded checkpoint
   * continues from its iteration with its AdamW state and random streams.
   */
  async train(req: TrainRequest): Promise<{ iter: number; finished: boolean; backend: string; notes: string[] }> {
    if (this.running) throw new UserError('training is already running');
    if (!this.backend) await this.useBackend();
    if (req.fresh || !this.trainer) this.trainer = this.newTrainer(req);
    const trainer = this.trainer;
    this.lastTrainer = trainer;
    this.model = trainer.model;
    const controller = new AbortController();
    this.running = controller;
    try {
      await trainer.run({
        signal: controller.signal,
        onStep: (e) => this.opts.emit({ type: 'step', ...e }),
        onEval: (e) => this.opts.emit({ type: 'eval', iter: e.iter, train: e.train, val: e.val }),
      });
    } finally {
      this.running = null;
    }
    return { iter: trainer.iterNum, finished: trainer.iterNum >= trainer.config.max_iters, backend: this.backendName, notes: trainer.notes };
  }

  private newTrainer(req: TrainRequest): Trainer {
    const resume = req.fresh ? null : this.resume;
    this.resume = null;
    if (resume) {
      const config = this.resolveTrainConfig({ config: req.config, overrides: { ...resume.state.config, ...req.overrides, device: 'auto', out_dir: 'out' } as Record<string, string | number | boolean> });
      const splits = this.splitsFor(this.modelTokenizer!);
      return new Trainer(config, { train: splits.train, val: splits.val, vocabSize: resume.model.vocabSize, tokenizer: this.modelTokenizer!.toSpec() },
        { resume, resumeWhere: 'opened in the page' });
    }
    if (!this.splits || !this.tokenizer) throw new UserError('tokenize the text first');
    const config = this.resolveTrainConfig(req);
    this.modelTokenizer = this.tokenizer;
    return new Trainer(config, { train: this.splits.train, val: this.splits.val, vocabSize: this.tokenizer.vocabSize, tokenizer: this.tokenizer.toSpec() },
      { backend: this.backend! });
  }

  /** Train and val tokens of the text under `tokenizer` (the current ones when it is the current tokenizer). */
  private splitsFor(tokenizer: Tokenizer): EncodedSplits {
    if (tokenizer === this.tokenizer && this.splits) return this.splits;
    if (!this.text) throw new UserError('no text to train on: pick Tiny Shakespeare or paste some text');
    try {
      return encodeSplits(this.text, tokenizer);
    } catch (e) {
      throw new UserError(`the text does not fit the checkpoint's tokenizer: ${(e as Error).message}`);
    }
  }

  /** Stops training between iterations; train() resolves and a later train() continues. */
  pause(): void {
    this.running?.abort();
  }

  /** Stops training and forgets the run (the model stays, for sampling and download). */
  stop(): void {
    this.running?.abort();
    this.trainer = null;
  }

  private needModel(): { model: LanguageModel; tokenizer: Tokenizer } {
    if (!this.model || !this.modelTokenizer) throw new UserError('no model yet: train one or open a checkpoint');
    if (this.running) throw new UserError('the model is training: pause it first');
    return { model: this.model, tokenizer: this.modelTokenizer };
  }

  private encodePrompt(tokenizer: Tokenizer, prompt: string): number[] {
    let ids: number[];
    try {
      ids = tokenizer.encode(prompt);
    } catch (e) {
      throw new UserError(`the prompt: ${(e as Error).message}`);
    }
    if (ids.length === 0) throw new UserError('the prompt encodes to no tokens; give at least one character');
    return ids;
  }

  /** `yorick sample` for one sample: prompt + generated text, streamed out as text events. */
  async sample(req: SampleRequest): Promise<string> {
    const { model, tokenizer } = this.needModel();
    if (this.sampling) throw new UserError('already sampling');
    const ids = this.encodePrompt(tokenizer, req.prompt);
    const controller = new AbortController();
    this.sampling = controller;
    const decoder = tokenizer.streamDecoder();
    let out = req.prompt;
    this.opts.emit({ type: 'text', text: req.prompt });
    try {
      const idx = new IntTensor(Int32Array.from(ids), [1, ids.length]);
      const opts = { temperature: req.temperature, topK: req.topK, topP: req.topP, signal: controller.signal };
      for await (const next of generateTokens(model, idx, req.maxNewTokens, opts, samplingGenerator(model.spec(), req.seed))) {
        const piece = decoder.push(next);
        out += piece;
        if (piece) this.opts.emit({ type: 'text', text: piece });
      }
      const rest = decoder.flush();
      out += rest;
      if (rest) this.opts.emit({ type: 'text', text: rest });
    } finally {
      this.sampling = null;
    }
    return out;
  }

  stopSampling(): void {
    this.sampling?.abort();
  }

  /** The k most likely next tokens after prompt under the sampling options. */
  async nextTokens(req: { prompt: string; temperature: number; topK: number | null; topP: number | null; k: number }): Promise<{ id: number; piece: string; p: number }[]> {
    const { model, tokenizer } = this.needModel();
    const probs = await nextTokenDistribution(model, this.encodePrompt(tokenizer, req.prompt), req);
    const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b).slice(0, req.k);
    return order.map((id) => ({ id, piece: tokenPiece(tokenizer, id), p: probs[id] }));
  }

  /** Attention weights of every layer and head for the prompt (its last block_size tokens). */
  async attention(req: { prompt: string }): Promise<{ pieces: string[]; nLayer: number; nHead: number; maps: Float32Array[] }> {
    const { model, tokenizer } = this.needModel();
    if (!(model instanceof GPT)) throw new UserError('the bigram model has no attention: train or open a GPT');
    const r = await attentionMaps(model, this.encodePrompt(tokenizer, req.prompt));
    return { pieces: tokenPieces(tokenizer, r.ids), nLayer: r.nLayer, nHead: r.nHead, maps: r.maps };
  }

  /** The model as the ckpt.safetensors `yorick train` writes (with AdamW's state when it was trained here). */
  async saveCheckpoint(): Promise<Uint8Array> {
    const { model } = this.needModel();
    if (this.lastTrainer && this.lastTrainer.model === model) {
      const { tensors, metadata } = await this.lastTrainer.checkpoint();
      return writeSafetensors(tensors, metadata);
    }
    if (this.openedBytes && this.resume?.model === model) return this.openedBytes.slice();
    throw new UserError('no run to save');
  }

  /** Opens a checkpoint written by `yorick train` (or this page): sample from it, or train() continues it. */
  async loadCheckpoint(bytes: Uint8Array, name: string): Promise<ModelInfo> {
    if (this.running) throw new UserError('the model is training: stop it first');
    if (!this.backend) await this.useBackend();
    const loaded = loadCheckpoint(bytes, name, { backend: this.backend! });
    const tokenizer = await tokenizerFromSpecAsync(loaded.state.tokenizer, this.opts.tiktoken);
    this.model = loaded.model;
    this.modelTokenizer = tokenizer;
    this.trainer = null;
    this.lastTrainer = null;
    this.resume = loaded;
    this.openedBytes = bytes.slice();
    this.openedName = name;
    return this.modelInfo(loaded.state.config as unknown as TrainConfig, loaded.state.iter_num);
  }

  private modelInfo(config: TrainConfig, iter: number): ModelInfo {
    const model = this.model!;
    return { kind: model.spec().kind, params: model.numParams(), iter, config, tokenizer: this.modelTokenizer!.kind };
  }

  /** What is loaded now. */
  status(): { backend: string; backendDescription: string; tokenizer: string; model: ModelInfo | null; training: boolean } {
    const model = this.model && this.modelTokenizer
      ? this.modelInfo(this.trainer?.config ?? (this.resume?.state.config as unknown as TrainConfig), this.trainer?.iterNum ?? this.resume?.state.iter_num ?? 0)
      : null;
    return { backend: this.backendName, backendDescription: this.backendDescription, tokenizer: this.tokenizerName, model, training: !!this.running };
  }
}
