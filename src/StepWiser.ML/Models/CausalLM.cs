using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// A Qwen2, Qwen3 or Llama causal language model (Hugging Face's <c>Qwen2ForCausalLM</c>, <c>Qwen3ForCausalLM</c>, <c>LlamaForCausalLM</c>):
/// the decoder stack and the output head, with parameter names equal to the Hugging Face names, so
/// checkpoints load from and save to that layout. The built-in small models are this class with a small config.
/// </summary>
public sealed class CausalLM : nn.Module
{
    /// <summary>Standard deviation of the normal initialisation of fresh models (as Hugging Face's <c>initializer_range</c>).</summary>
    public const double InitializerRange = 0.02;

    [ComponentName(Name = "model")] private readonly DecoderModel _model;
    [ComponentName(Name = "lm_head")] private readonly Projection? _lmHead;

    /// <summary>The decoder stack (for the managed decode step).</summary>
    internal DecoderModel Decoder => _model;

    /// <summary>The output head's (vocab, hidden) weight: lm_head's, or the embedding's when they are tied.</summary>
    internal Tensor HeadWeight => _lmHead is null ? _model.EmbedTokens.weight : _lmHead.weight;

    /// <summary>The configuration this model was built from.</summary>
    public ModelConfig Config { get; }

    /// <summary>Device the parameters live on.</summary>
    public Device Device { get; private set; }

    /// <summary>Floating-point type of the parameters.</summary>
    public ScalarType DType { get; private set; } = ScalarType.Float32;

    /// <summary>
    /// Allocates the model without initialising its weights, on <paramref name="device"/> (the CPU by default; may be
    /// the meta device) in <paramref name="dtype"/> (a floating-point type, float32 by default); use
    /// <see cref="CreateRandom"/> for a fresh model or <see cref="HuggingFaceCheckpoint.Load"/> to load one.
    /// </summary>
    public CausalLM(ModelConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(CausalLM))
    {
        config.Validate();
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
            throw new ArgumentException($"dtype {dtype} is not a floating-point type (float32, bfloat16, float16 or float64)", nameof(dtype));
        Config = config;
        Device = device ?? CPU;
        DType = dtype;
        _model = new DecoderModel(config, Device, dtype);
        if (!config.TieWordEmbeddings) _lmHead = new Projection(config.HiddenSize, config.VocabSize, false, Device, dtype);
        RegisterComponents();
    }

    /// <summary>Creates a freshly initialised model (normal(0, 0.02) matrices, unit norms, zero biases), deterministic under <paramref name="seed"/>.</summary>
    public static CausalLM CreateRandom(ModelConfig config, long seed, Device? device = null)
    {
        var model = new CausalLM(config, device);
        var generator = new Generator((ulong)seed, model.Device);
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1.0);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0, InitializerRange, generator);
        }
        return model;
    }

    /// <summary>
    /// A deep copy: the same configuration and weights in the same type, on <paramref name="device"/> (this model's by
    /// default), in evaluation mode. The copy is allocated uninitialised and filled from this model, so no random number
    /// is drawn and the weights are equal bit for bit.
    /// </summary>
    internal CausalLM Copy(Device? device = null)
    {
        var copy = new CausalLM(Config, device ?? Device, DType);
        try
        {
            using var noGrad = no_grad();
            var source = named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in copy.named_parameters()) p.copy_(source[name]);
        }
        catch
        {
            copy.Dispose();
            throw;
        }
        copy.eval();
        return copy;
    }

    /// <summary>
    /// Moves the parameters to <paramref name="device"/> and <paramref name="dtype"/>. Onto a GPU the type changes first,
    /// where the model is, so a float32 model moved to a GPU in bfloat16 never holds its float32 copy there.
    /// </summary>
    public CausalLM To(Device device, ScalarType dtype)
    {
        if (device.type == DeviceType.CPU) this.to(device).to(dtype);
        else this.to(dtype).to(device);
        if (!_model.IsFused) _model.RebindFused();   // the move replaced the parameters: fuse the new ones
        Device = device;
        DType = dtype;
        return this;
    }

    /// <summary>
    /// Final hidden states (B, T, hidden) for (B, T) token ids at (B, T) positions. With a cache, the new
    /// tokens attend to the cached ones through the (B, 1, T, L) boolean <paramref name="mask"/>.
    /// </summary>
    public Tensor Hidden(Tensor inputIds, Tensor positions, Tensor? mask = null, KvCache? cache = null) =>
        _model.Forward(inputIds, positions, mask, cache);

    /// <summary>Output-head logits (…, vocab) for hidden states (…, hidden).</summary>
    public Tensor Logits(Tensor hidden) =>
        _lmHead is null ? DecodeProducts.Linear(hidden, _model.EmbedTokens.weight, null) : _lmHead.forward(hidden);

    /// <summary>Teacher-forced logits (B, T, vocab) for (B, T) token ids with plain causal attention (right padding is harmless).</summary>
    public Tensor Forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0).expand(inputIds.shape[0], -1);
        return Logits(Hidden(inputIds, positions)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Teacher-forced logits (N, vocab) at N chosen positions of a (B, T) batch, given as flat indices b·T + t into it
    /// (plain causal attention, as <see cref="Forward"/>). The output head runs on those positions only, which is what a
    /// loss over response tokens needs: for a small model with a large vocabulary the head over every position is a
    /// large share of a training step.
    /// </summary>
    public Tensor ForwardAt(Tensor inputIds, Tensor flatPositions)
    {
        using var scope = NewDisposeScope();
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0).expand(inputIds.shape[0], -1);
        var hidden = Hidden(inputIds, positions);                                                      // (B, T, H)
        var chosen = hidden.reshape(-1, hidden.shape[2]).index_select(0, flatPositions);               // (N, H)
        return Logits(chosen).MoveToOuterDisposeScope();                                              // (N, V)
    }

    /// <summary>
    /// The training pass of a loss over final hidden states: <paramref name="lossOfHidden"/> maps the (B, T, hidden)
    /// final hidden states of (B, T) token ids (plain causal attention, as <see cref="Forward"/>) to a scalar loss, which
    /// is back-propagated into the parameters' gradients (added to what they hold); returns the loss, detached. Tensors
    /// the function makes live until it returns, so it reads what it needs from them (for example statistics) itself.
    /// With <paramref name="checkpointLayers"/> every decoder layer's activations are recomputed in the backward pass
    /// instead of kept (activation checkpointing): one (B, T, hidden) input a layer is kept through the pass, and the
    /// intermediate activations of one layer at a time, for the cost of a second forward pass through the layers. The
    /// gradients are the same as without, up to the order of floating-point sums.
    /// </summary>
    /// <param name="inputIds">(B, T) token ids, right-padded.</param>
    /// <param name="lossOfHidden">The loss of the (B, T, hidden) final hidden states; it may use the output head (<see cref="Logits"/>).</param>
    /// <param name="checkpointLayers">Recompute each layer's activations in the backward pass instead of keeping them.</param>
    /// <returns>The loss, detached from the graph.</returns>
    public Tensor ForwardBackward(Tensor inputIds, Func<Tensor, Tensor> lossOfHidden, bool checkpointLayers = false)
    {
        ArgumentNullException.ThrowIfNull(lossOfHidden);
        using var scope = NewDisposeScope();
        var positions = arange(inputIds.shape[1], dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0).expand(inputIds.shape[0], -1);
        if (checkpointLayers) return _model.ForwardBackwardCheckpointed(inputIds, positions, lossOfHidden).MoveToOuterDisposeScope();
        var loss = lossOfHidden(Hidden(inputIds, positions));
        loss.backward();
        return loss.detach().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Teacher-forced logits (N, vocab) for responses that share prompts (GRPO's groups): each distinct prompt is
    /// computed once, left-padded, and its keys and values serve every response that continues it. Row j continues
    /// <paramref name="prompts"/>[rows[j].Prompt]; the result holds, row after row, the logits that predict each of the
    /// row's response tokens (N = the sum of the response lengths), exactly what <see cref="ForwardAt"/> gives at those
    /// positions of the rows' full sequences, at the cost of one prompt forward per group instead of one per response.
    /// Gradients flow into the shared prompt computation from every response.
    /// </summary>
    public Tensor ForwardShared(IReadOnlyList<int[]> prompts, IReadOnlyList<(int Prompt, int[] Response)> rows)
    {
        if (prompts.Count == 0 || rows.Count == 0) throw new ArgumentException("no prompt or no row");
        if (prompts.Any(p => p.Length == 0) || rows.Any(r => r.Response.Length == 0)) throw new ArgumentException("every prompt and response needs a token");
        using var scope = NewDisposeScope();
        int g = prompts.Count, n = rows.Count, promptLength = prompts.Max(p => p.Length), t = rows.Max(r => r.Response.Length) - 1;
        using var cache = new KvCache(Config, g, promptLength + t, Device, DType);
        var promptHidden = Prefill(prompts, cache);                                                           // (G, P, H)

        // Each row takes its prompt's keys and values; the prompt's last position predicts the row's first token.
        var rowPrompt = tensor(rows.Select(r => (long)r.Prompt).ToArray(), device: Device);
        cache.SelectRows(rowPrompt);
        var states = promptHidden[.., -1].index_select(0, rowPrompt);                                         // (N rows, H)
        if (t > 0)
        {
            // Response tokens 0 … t−1 (right-padded; a real query never sees the pads after it) predict tokens 1 … t.
            var responseIds = new long[n * t];
            var responsePositions = new long[n * t];
            for (var j = 0; j < n; j++)
                for (var k = 0; k < t; k++)
                {
                    responseIds[j * t + k] = k < rows[j].Response.Length ? rows[j].Response[k] : 0;
                    responsePositions[j * t + k] = prompts[rows[j].Prompt].Length + k;
                }
            cache.MarkValid(ones(n, t, dtype: ScalarType.Bool, device: Device));
            var seen = cache.Valid.narrow(1, 0, promptLength).view(n, 1, 1, promptLength).expand(n, 1, t, promptLength);
            var responseMask = cat([seen, ones(t, t, dtype: ScalarType.Bool, device: Device).tril().view(1, 1, t, t).expand(n, 1, t, t)], 3);   // (N, 1, t, P + t)
            var responseHidden = Hidden(tensor(responseIds, device: Device).view(n, t), tensor(responsePositions, device: Device).view(n, t), responseMask, cache);
            cache.Advance(t);
            states = cat([states, responseHidden.reshape(n * t, -1)], 0);                                     // (N rows + N rows·t, H)
        }
        var at = new List<long>();
        for (var j = 0; j < n; j++)
        {
            at.Add(j);
            for (var k = 1; k < rows[j].Response.Length; k++) at.Add(n + (long)j * t + k - 1);
        }
        return Logits(states.index_select(0, tensor(at.ToArray(), device: Device))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Computes <paramref name="prompts"/> left-padded to the longest into an empty <paramref name="cache"/> (one row
    /// each; a pad query sees only itself, so no softmax row is empty; positions count real tokens from 0) and returns
    /// the final hidden states (P, T, hidden); the last column is every prompt's last token. The prefill of the
    /// generation engine and of <see cref="ForwardShared"/>.
    /// </summary>
    internal Tensor Prefill(IReadOnlyList<int[]> prompts, KvCache cache)
    {
        int count = prompts.Count, length = prompts.Max(p => p.Length);
        var ids = new long[count * length];
        var valid = new bool[count * length];
        for (var p = 0; p < count; p++)
            for (int pad = length - prompts[p].Length, k = 0; k < prompts[p].Length; k++)
            {
                ids[p * length + pad + k] = prompts[p][k];
                valid[p * length + pad + k] = true;
            }
        var validT = tensor(valid, device: Device).view(count, length);                                       // (P, T)
        var positions = validT.to(ScalarType.Int64).cumsum(1).sub_(KeptScalars.One).clamp_min_(KeptScalars.Zero);   // (P, T); kept scalars (KeptScalars)
        cache.MarkValid(validT);
        var causal = ones(length, length, dtype: ScalarType.Bool, device: Device).tril();
        var diagonal = eye(length, dtype: ScalarType.Bool, device: Device);
        var mask = causal.unsqueeze(0).logical_and(validT.unsqueeze(1)).logical_or(diagonal.unsqueeze(0)).unsqueeze(1);   // (P, 1, T, T)
        var hidden = Hidden(tensor(ids, device: Device).view(count, length), positions, mask, cache);         // (P, T, hidden)
        cache.Advance(length);
        return hidden;
    }

    /// <summary>
    /// Whether inference (no gradients) runs each layer's q/k/v and gate/up projections as one matrix product each: true
    /// for a model built, loaded or moved (<see cref="To"/>) by this library; a move by TorchSharp's own <c>to</c> turns it
    /// off, and the separate projections run, until <see cref="To"/> is called. The parameters keep their Hugging Face
    /// names either way, and training (gradients enabled) always runs the projections separately.
    /// </summary>
    public bool UsesFusedProjections => _model.IsFused;

    /// <summary>Number of parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.NumberOfElements);
}
