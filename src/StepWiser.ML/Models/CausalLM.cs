using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace StepWiser.ML.Models;

/// <summary>
/// A Qwen2/Llama-family causal language model (Hugging Face's <c>Qwen2ForCausalLM</c> / <c>LlamaForCausalLM</c>):
/// the decoder stack and the output head, with parameter names equal to the Hugging Face names, so
/// checkpoints load from and save to that layout. The built-in small models are this class with a small config.
/// </summary>
public sealed class CausalLM : nn.Module
{
    /// <summary>Standard deviation of the normal initialisation of fresh models (as Hugging Face's <c>initializer_range</c>).</summary>
    public const double InitializerRange = 0.02;

    [ComponentName(Name = "model")] private readonly DecoderModel _model;
    [ComponentName(Name = "lm_head")] private readonly Projection? _lmHead;

    /// <summary>The configuration this model was built from.</summary>
    public ModelConfig Config { get; }

    /// <summary>Device the parameters live on.</summary>
    public Device Device { get; private set; }

    /// <summary>Floating-point type of the parameters.</summary>
    public ScalarType DType { get; private set; } = ScalarType.Float32;

    /// <summary>
    /// Allocates the model without initialising its weights; use <see cref="CreateRandom"/> for a fresh model or
    /// <see cref="HuggingFaceCheckpoint.Load"/> to load one. <paramref name="device"/> may be the meta device.
    /// </summary>
    public CausalLM(ModelConfig config, Device? device = null) : base(nameof(CausalLM))
    {
        config.Validate();
        Config = config;
        Device = device ?? CPU;
        _model = new DecoderModel(config, Device);
        if (!config.TieWordEmbeddings) _lmHead = new Projection(config.HiddenSize, config.VocabSize, false, Device);
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

    /// <summary>Moves the parameters to <paramref name="device"/> and <paramref name="dtype"/>.</summary>
    public CausalLM To(Device device, ScalarType dtype)
    {
        this.to(device).to(dtype);
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
        _lmHead is null ? nn.functional.linear(hidden, _model.EmbedTokens.weight) : _lmHead.forward(hidden);

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

    /// <summary>Number of parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.NumberOfElements);
}
