import { UserError } from '../errors.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import type { CheckpointState } from './checkpoint.js';
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
