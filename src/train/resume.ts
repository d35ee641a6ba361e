import { UserError } from '../errors.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import type { CheckpointState, LoadedCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';

/** The model settings a resumed run takes from its checkpoint, whatever the config says. */
const MODEL_KEYS = ['n_layer', 'n_head', 'n_embd', 'block_size', 'bias'] as const;

/**
 * Checks that a checkpoint can continue this run, and returns the config it continues with:
 * the model's shape comes from the checkpoint (each change is a note for the user); a
 * different tokenizer or model kind is an error, since the weights would not fit the data.
 */
export function resumeConfig(config: TrainConfig, state: CheckpointState, tokenizer: TokenizerSpec, where: string): { config: TrainConfig; notes: string[] } {
  if (JSON.stringify(state.tokenizer) !== JSON.stringify(tokenizer)) {
    throw new UserError(`the checkpoint ${where} was trained with another tokenizer than dataset "${config.dataset}" uses ` +
      `(${state.tokenizer.kind} vs ${tokenizer.kind}, or a different vocabulary); resume it on the dataset it was trained on`);
  }
  if (state.model.kind !== config.model) {
    throw new UserError(`the checkpoint ${where} holds a ${state.model.kind} model, the config asks for model = ${config.model}`);
  }
  const out = { ...config };
  const notes: string[] = [];
  const args = state.model.args as unknown as Record<string, unknown>;
  for (const key of MODEL_KEYS) {
    if (key in args && args[key] !== config[key]) {
      notes.push(`${key} = ${String(args[key])} from the checkpoint (the config said ${String(config[key])})`);
      (out as Record<string, unknown>)[key] = args[key];
    }
  }
  return { config: out, notes };
}

/**
 * Checks that a loaded checkpoint holds what continuing it exactly needs, against this run's
 * data: PyTorch's random state (not an earlier yorick's), AdamW's moments, and a prefetched
 * batch that lies inside the train split. `config` is the one resumeConfig returned.
 */
export function checkResumeState(resume: LoadedCheckpoint, config: TrainConfig, data: { trainTokens: number; vocabSize: number }, where: string,
  opts: { freshOptimizer?: boolean } = {}): void {
  const { trainTokens } = data;
  const rng = resume.state.rng as unknown as Record<string, unknown>;
  if (!rng.torch) {
    throw new UserError(`${where} was written by an earlier yorick whose random streams were not PyTorch's: ` +
      'it still loads for sampling, but its training cannot continue the same stream. Start a new run (init_from=scratch).');
  }
  if (!resume.optimizer && !opts.freshOptimizer) {
    throw new UserError(`${where} holds no optimizer state (no optimizer.exp_avg.* tensors): resuming would restart AdamW's moments from zero ` +
      'instead of continuing the run. It can be sampled; to train on, start a new run (init_from=scratch).');
  }
  if (resume.model.vocabSize < data.vocabSize) {
    throw new UserError(`${where}: the model's vocab_size (${resume.model.vocabSize}) is smaller than the dataset's (${data.vocabSize}): its embedding has no row for some tokens`);
  }
  const offsets = resume.state.rng.batch_offsets;
  const max = trainTokens - config.block_size - 1;
  offsets.forEach((o, i) => {
    if (o > max) {
      throw new UserError(`${where}: rng.batch_offsets[${i}] is ${o}, past the last window of the train split (${trainTokens} tokens, block_size ${config.block_size}: ` +
        `offsets up to ${max}); the checkpoint does not belong to dataset "${config.dataset}"`);
    }
  });
}
