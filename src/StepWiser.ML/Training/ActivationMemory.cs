using StepWiser.ML.Models;

namespace StepWiser.ML.Training;

/// <summary>
/// The memory of a forward and backward pass of <see cref="CausalLM"/>, counted tensor by tensor from what its
/// modules and the trainers keep (a model change that keeps more must change these counts; <c>--suite memory-plan</c>
/// compares them with measured peaks). Bytes per token unless named otherwise; <c>s</c> is the weights' type size and
/// <c>w</c> the float32 copy RmsNorm makes of a low-precision input (4 bytes, 0 for float32 weights).
/// </summary>
internal sealed class ActivationMemory(ModelConfig config, int typeSize)
{
    private readonly long _h = config.HiddenSize, _a = (long)config.NumAttentionHeads * config.HeadDim, _k = (long)config.KeyValueHeads * config.HeadDim;
    private readonly long _i = config.IntermediateSize, _heads = config.NumAttentionHeads, _v = config.VocabSize;
    private readonly int _s = typeSize, _w = typeSize < Float32Size ? Float32Size : 0;

    private const int Float32Size = 4;

    /// <summary>
    /// What one layer keeps for the backward pass, a token: each RmsNorm its input, float32 copy, normed value and output
    /// (the projections' input); attention the rotated queries, the keys and values repeated to every query head, the
    /// output, its log-sum-exp (float32, one a head) and the merged heads o_proj reads; Qwen3's query/key norms their
    /// input, float32 copy and output; the MLP gate, SiLU(gate), up and their product.
    /// </summary>
    public long LayerSaved => 2 * (3 * _s + _w) * _h + 5 * _a * _s + Float32Size * _heads
        + (config.QueryKeyNorm ? (2 * _s + _w) * (_a + _k) : 0) + 4 * _i * _s;

    /// <summary>
    /// The gradients alive at once inside one layer's backward pass, a token: the MLP's (the gradient at its product,
    /// at SiLU(gate) and up, at the gate) and the (B, T, hidden) gradients entering and leaving the layer.
    /// </summary>
    public long LayerBackward => 3 * _i * _s + 2 * _h * _s;

    /// <summary>
    /// One layer's working memory without gradients (generation's prefill, the KL reference's forward), a token: the
    /// input and its norm (with the float32 copy), the fused q/k/v product and the rotated queries and keys, the keys and
    /// values repeated to every head, the attention output and merged heads, the fused gate/up product, SiLU(gate) and
    /// the product.
    /// </summary>
    public long LayerForward => (2 * _s + _w) * _h + (_a + 2 * _k) * _s * 2 + 4 * _a * _s + 4 * _i * _s;

    /// <summary>The rotary tables: cosine and sine (B, 1, T, head_dim) in the weights' type, a token.</summary>
    public long RotaryTables => 2L * config.HeadDim * _s;

    /// <summary>
    /// What the output head keeps for the backward pass: the final norm's float32 copy, normed value and output over
    /// all <paramref name="tokens"/>, and at the <paramref name="lossTokens"/> positions the hidden states the head reads
    /// and the float32 log-softmax of the logits (the logits themselves are freed once converted).
    /// </summary>
    public long HeadSaved(long tokens, long lossTokens) => (2 * _s + _w) * _h * tokens + lossTokens * (_h * _s + _v * Float32Size);

    /// <summary>
    /// The head's backward working memory beside the kept log-softmax: two float32 gradients over the logits at a time
    /// (the one arriving at a node and the one it makes; the gradient of the loss at the log-probabilities, then at the
    /// logits, then through the temperature's division; each freed once the next is made). Its cast back to the
    /// weights' type comes when only one float32 gradient is left.
    /// </summary>
    public long HeadBackward(long lossTokens) => lossTokens * _v * 2 * Float32Size;

    /// <summary>The logits of <paramref name="rows"/> in the weights' type, their float32 copy and log-softmax (a forward without gradients).</summary>
    public long LogitsForward(long rows) => rows * _v * (_s + 2 * Float32Size);

    /// <summary>One (B, T, hidden) tensor in the weights' type, a token.</summary>
    public long Hidden => _h * _s;
}
