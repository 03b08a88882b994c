using Microsoft.ML.Tokenizers;
using StepWiser.ML.Models;
using StepWiser.ML.Training;
using static TorchSharp.torch;

namespace StepWiser.ML.Judging;

/// <summary>
/// The discriminative baseline (the paper's discriminative PRM baseline; docs/judging-evaluation-search.md): the same backbone trained on the same labels to emit one token, "+" or
/// "-", right after the step; the step score is the probability of "+" against "-". No analysis is written.
/// </summary>
public sealed class DiscriminativeJudge : IStepJudge
{
    private const string Cue = "\nVerdict: ";
    private readonly CausalLM _model;
    private readonly Tokenizer _tokenizer;
    private readonly JudgeTemplate _template;
    private readonly int _plus;
    private readonly int _minus;

    /// <summary>Wraps <paramref name="model"/> (trained in place by <see cref="Train"/>).</summary>
    public DiscriminativeJudge(CausalLM model, Tokenizer tokenizer, JudgeTemplate template)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _template = template ?? throw new ArgumentNullException(nameof(template));
        _plus = SingleToken("+");
        _minus = SingleToken("-");
    }

    /// <summary>The prompt of an input: the judge template's text followed by a verdict cue.</summary>
    public string Prompt(JudgeInput input) => _template.Render(input) + Cue;

    /// <summary>Supervised training on labelled steps (response "+" or "-", one token).</summary>
    public TrainingResult Train(IReadOnlyList<JudgeExample> examples, SftOptions options, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var sft = examples.Select(e => new SftExample(Prompt(e.Input), e.Label ? "+" : "-")).ToArray();
        options.AppendEos = false;
        return new SftTrainer(_model, _tokenizer, options).Train(sft, progress, cancellationToken);
    }

    /// <summary>P("+") / (P("+") + P("-")) for each input, in batches.</summary>
    public IReadOnlyList<float> Score(IReadOnlyList<JudgeInput> inputs, int batchSize = 32)
    {
        var scores = new List<float>(inputs.Count);
        _model.eval();
        using var noGrad = no_grad();
        foreach (var batch in inputs.Chunk(batchSize))
        {
            using var scope = NewDisposeScope();
            var encoded = batch.Select(i => _tokenizer.EncodeToIds(Prompt(i)).ToArray()).ToArray();
            var maxLen = encoded.Max(e => e.Length);
            var ids = new long[batch.Length * maxLen];
            for (var b = 0; b < batch.Length; b++)
                for (var t = 0; t < encoded[b].Length; t++) ids[b * maxLen + t] = encoded[b][t];    // right-padded
            var logits = _model.Forward(tensor(ids, device: _model.Device).view(batch.Length, maxLen)); // (B, T, V)
            var last = tensor(encoded.Select(e => (long)e.Length - 1).ToArray(), device: _model.Device);
            var rows = logits[arange(batch.Length, device: _model.Device), last];                     // (B, V)
            var pair = stack([rows[.., _plus], rows[.., _minus]], 1).to(ScalarType.Float32);          // (B, 2)
            scores.AddRange(nn.functional.softmax(pair, 1)[.., 0].cpu().data<float>().ToArray());
        }
        return scores;
    }

    /// <summary>As an <see cref="IStepJudge"/>: Positive when P("+") ≥ 0.5; the score is P("+").</summary>
    public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<StepVerdict> verdicts = Score(inputs).Select(p => new StepVerdict(p >= 0.5f, p, p >= 0.5f ? "+" : "-", 0)).ToArray();
        return Task.FromResult(verdicts);
    }

    private int SingleToken(string text)
    {
        var ids = _tokenizer.EncodeToIds(text);
        return ids.Count == 1 ? ids[0] : throw new NotSupportedException($"the tokenizer splits the verdict \"{text}\" into {ids.Count} tokens; the discriminative judge needs one");
    }
}
