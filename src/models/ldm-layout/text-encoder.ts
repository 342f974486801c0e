import type { TextEncoderConfig } from '../config.js';
import { SpecList } from './tensor-spec.js';

/**
 * `cond_stage_model.transformer.text_model.*`: Hugging Face CLIPTextModel's
 * text_model, in its state_dict order (parameters, then the position_ids
 * buffer that HF registers in the embeddings module).
 */
export function textEncoderSpecs(t: TextEncoderConfig, into: SpecList): void {
  const h = t.hidden_size;
  const emb = into.sub('embeddings');
  emb.add('token_embedding.weight', [t.vocab_size, h], 'token_embedding');
  emb.add('position_embedding.weight', [t.max_position_embeddings, h], 'position_embedding');
  emb.add('position_ids', [1, t.max_position_embeddings], 'position_ids', 'I64');
  for (let i = 0; i < t.num_hidden_layers; i++) {
    const layer = into.sub('encoder').sub('layers').sub(i);
    const attn = layer.sub('self_attn');
    for (const proj of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) attn.linear(proj, h, h);
    layer.norm('layer_norm1', h);
    layer.sub('mlp').linear('fc1', h, t.intermediate_size);
    layer.sub('mlp').linear('fc2', t.intermediate_size, h);
    layer.norm('layer_norm2', h);
  }
  into.norm('final_layer_norm', h);
}
