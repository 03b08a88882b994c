using Microsoft.ML.Tokenizers;
using StepWiser.ML.Annotation;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Training;

namespace StepWiser.ML.Judging;

/// <summary>
/// The recipe that makes a small generative judge learn (measured on the built-in world: docs/results.md and the lab notebook), in three
/// stages over one model, each usable alone:
/// <list type="number">
/// <item><see cref="Pretrain"/>: the analysis skill on <i>unlabelled</i> policy steps (prompt → analysis, no verdict).
/// The analysis must be computable without labels: from the problem, history and chunk (a task-specific teacher such as
/// <c>WorldJudging.CompareAnalysis</c>) or by the policy itself (<see cref="RederivationAnalysis"/>).</item>
/// <item><see cref="WarmUp"/>: analysis then boxed verdict on balanced Monte-Carlo-labelled steps (selected by
/// <see cref="JudgeRecipeOptions.StepSelection"/>). Verdicts only ever come from Monte-Carlo labels.</item>
/// <item><see cref="Reinforce"/>: GRPO on the same labelled steps (reward 1 when the verdict equals the label), with a
/// KL term to the warmed-up model so the analysis it learned survives.</item>
/// </list>
/// The discriminative baseline (<see cref="TrainDiscriminative"/>) takes the same weights after <see cref="Pretrain"/> and
/// the same selected, balanced labelled steps, so a comparison with it is "analysis written at inference or not" and
/// nothing else.
/// </summary>
public static class JudgeRecipe
{
    /// <summary>
    /// The labelled steps a judge trains on: for each solution, its chunks with their labels, kept as
    /// <paramref name="selection"/> says.
    /// </summary>
    public static IReadOnlyList<JudgeExample> SelectSteps(IEnumerable<StepwiseExample> solutions, StepSelection selection)
    {
        ArgumentNullException.ThrowIfNull(solutions);
        return solutions.SelectMany(s => JudgeExample.FromSolution(s.Prompt, s.Completions, s.Labels, selection)).ToArray();
    }

    /// <summary>
    /// Stage 1: teaches <paramref name="model"/> to write <paramref name="analysis"/>(step) after the judge prompt, on
    /// unlabelled steps (no verdict, no end of sequence: the verdict stage continues the text), balanced by
    /// <see cref="JudgeRecipeOptions.PretrainBalanceBy"/> when it is set and both classes occur. Does nothing when
    /// <see cref="JudgeRecipeOptions.PretrainSteps"/> is 0.
    /// </summary>
    public static TrainingResult? Pretrain(CausalLM model, Tokenizer tokenizer, JudgeTemplate template, IReadOnlyList<JudgeInput> steps, Func<JudgeInput, string> analysis,
        JudgeRecipeOptions? options = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(analysis);
        options = Validated(options);
        if (options.PretrainSteps == 0) return null;
        if (steps.Count == 0) throw new ArgumentException("no unlabelled steps to teach the analysis on", nameof(steps));
        if (template.ResultFirst is { } resultFirst)
        {
            // Both turns, no label: turn 1 -> the analysis's line; turn 2 with it -> the comparison (ResultFirstTemplate.AnalysisExamples).
            var turns = resultFirst.AnalysisExamples(steps, analysis);
            if (turns.Count == 0) throw new ArgumentException("no unlabelled step states a result with a turn-1 line to learn", nameof(steps));
            return new SftTrainer(model, tokenizer, Sft(options, options.PretrainSteps, options.PretrainLearningRate, appendEos: true)).Train(turns, progress, cancellationToken);
        }
        var pairs = steps.Select(s => (Step: s, Analysis: analysis(s).Trim())).ToArray();
        if (options.PretrainBalanceBy is { } classOf)
        {
            // With one class only there is nothing to balance: the steps are used as they are.
            var counts = pairs.Count(p => classOf(p.Analysis));
            if (counts > 0 && counts < pairs.Length) pairs = LabelBalancer.Balance(pairs, p => classOf(p.Analysis), options.Seed).ToArray();
        }
        var examples = pairs.Select(p => new SftExample(template.Render(p.Step), " " + p.Analysis)).ToArray();
        return new SftTrainer(model, tokenizer, Sft(options, options.PretrainSteps, options.PretrainLearningRate, appendEos: false)).Train(examples, progress, cancellationToken);
    }

    /// <summary>
    /// Stage 2: analysis (when <paramref name="analysis"/> is given; null trains the verdict alone) then the boxed
    /// verdict of each example's Monte-Carlo label, on the labelled steps balanced to 50/50 unless
    /// <see cref="JudgeRecipeOptions.Balance"/> is off. The examples should already be selected (<see cref="SelectSteps"/>).
    /// </summary>
    /// <remarks>
    /// With a result-first template (<see cref="JudgeTemplate.ResultFirst"/>), <paramref name="analysis"/> gives the
    /// turn-1 lines (required): the examples are <see cref="ResultFirstTemplate.VerdictExamples"/> (turn 2 → comparison
    /// and verdict), and as many turn-1 examples of <paramref name="unlabelled"/> are mixed in so that turn 1 is kept.
    /// </remarks>
    public static TrainingResult WarmUp(CausalLM model, Tokenizer tokenizer, JudgeTemplate template, IReadOnlyList<JudgeExample> labelled, Func<JudgeInput, string>? analysis,
        JudgeRecipeOptions? options = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default, IReadOnlyList<JudgeInput>? unlabelled = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        options = Validated(options);
        var train = Prepare(labelled, options with { Balance = options.WarmupBalance ?? options.Balance });
        if (template.ResultFirst is { } resultFirst)
        {
            if (analysis is null) throw new ArgumentException("a result-first judge's verdict stage needs its turn-1 lines (analysis)", nameof(analysis));
            var verdicts = resultFirst.VerdictExamples(train, analysis);
            var kept = (unlabelled ?? []).Where(s => resultFirst.TurnOne(s) is not null && analysis(s) is { Length: > 0 })
                .Select(s => new SftExample(resultFirst.TurnOne(s)!, analysis(s))).Take(verdicts.Count);
            return new SftTrainer(model, tokenizer, Sft(options, options.WarmupSteps, options.WarmupLearningRate, appendEos: true)).Train([.. verdicts, .. kept], progress, cancellationToken);
        }
        var examples = JudgeWarmup.Examples(train, template, e => analysis is null ? "" : analysis(e.Input));
        return new SftTrainer(model, tokenizer, Sft(options, options.WarmupSteps, options.WarmupLearningRate, appendEos: true)).Train(examples, progress, cancellationToken);
    }

    /// <summary>
    /// Stage 3: GRPO on the labelled steps with <see cref="JudgeRecipeOptions.Grpo"/> (balanced prompts per step unless
    /// <see cref="JudgeRecipeOptions.Balance"/> is off). Returns the per-step metrics.
    /// </summary>
    public static IReadOnlyList<GrpoStepMetrics> Reinforce(CausalLM model, Tokenizer tokenizer, JudgeTemplate template, IReadOnlyList<JudgeExample> labelled,
        JudgeRecipeOptions? options = null, IProgress<GrpoStepMetrics>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labelled);
        options = Validated(options);
        var grpo = options.Grpo;
        if (grpo.BalancePrompts != options.Balance) grpo = grpo with { BalancePrompts = options.Balance };
        // Turn 1 sampled by GRPO itself (SampleTurnOne), or fixed to the judge's greedy lines now.
        var steps = grpo.SampleTurnOne ? labelled : WithTurnOne(model, tokenizer, template, labelled, cancellationToken);
        return new GrpoTrainer(model, tokenizer, template, grpo).Train(steps, progress, cancellationToken);
    }

    /// <summary>
    /// For a result-first template: the labelled steps with the model's own turn-1 line (greedy, as it is now) where a
    /// step states a result and carries none, so that GRPO and RS-FT train turn 2 on the judge's own results; other
    /// templates' steps as they are.
    /// </summary>
    private static IReadOnlyList<JudgeExample> WithTurnOne(CausalLM model, Tokenizer tokenizer, JudgeTemplate template, IReadOnlyList<JudgeExample> labelled, CancellationToken cancellationToken)
    {
        if (template.ResultFirst is not { } resultFirst) return labelled;
        var open = Enumerable.Range(0, labelled.Count).Where(i => resultFirst.NeedsTurnOne(labelled[i].Input)).ToArray();
        if (open.Length == 0) return labelled;
        var engine = new LocalTextGenerator(model, tokenizer, new LocalGeneratorOptions { MaxBatchRows = 64 });
        var (own, _) = resultFirst.WithOwnResultsAsync(engine, open.Select(i => labelled[i].Input).ToArray(), resultFirst.TurnOneTokens, cancellationToken).GetAwaiter().GetResult();
        var result = labelled.ToArray();
        for (var j = 0; j < open.Length; j++) result[open[j]] = result[open[j]] with { Input = own[j] };
        return result;
    }

    /// <summary>
    /// The paper's RS-FT ablation, in place of <see cref="Reinforce"/>: the same prompts GRPO would draw (balanced,
    /// <see cref="GrpoOptions.Steps"/> × <see cref="GrpoOptions.PromptsPerStep"/>), the same <see cref="GrpoOptions.GroupSize"/>
    /// responses each at GRPO's temperature and length, sampled once from the judge as it is (offline); the responses
    /// whose boxed verdict equals the example's Monte-Carlo label are kept, and the judge is fine-tuned on them with as
    /// many updates of <see cref="GrpoOptions.MiniBatchSize"/> as GRPO would make. So it sees the same labelled steps
    /// and the same number of sampled responses and updates as the RL judge; only online, advantage-weighted learning
    /// is missing. With <see cref="GrpoOptions.SampleTurnOne"/> and a result-first template, turn 1 is sampled too (as GRPO
    /// samples it) and both turns of a kept response are fine-tuned on. The fine-tuning's peak learning rate is <c>learningRate</c>, by default the verdict stage's
    /// (<see cref="JudgeRecipeOptions.WarmupLearningRate"/>). Returns the training result (null when no response was
    /// right: nothing to learn from).
    /// </summary>
    public static TrainingResult? RejectionSample(CausalLM model, Tokenizer tokenizer, JudgeTemplate template, IReadOnlyList<JudgeExample> labelled,
        JudgeRecipeOptions? options = null, double? learningRate = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        options = Validated(options);
        var grpo = options.Grpo;
        // With SampleTurnOne, turn 1 is sampled here as GRPO samples it; otherwise turn 2 runs on the judge's greedy lines.
        var sampleTurnOne = grpo.SampleTurnOne && template.ResultFirst is not null;
        var train = Prepare(sampleTurnOne ? labelled : WithTurnOne(model, tokenizer, template, labelled, cancellationToken), new JudgeRecipeOptions { Balance = false });
        var positives = train.Where(e => e.Label).ToArray();
        var negatives = train.Where(e => !e.Label).ToArray();
        var random = new Random(options.Seed);
        var prompts = Enumerable.Range(0, grpo.Steps * grpo.PromptsPerStep)
            .Select(i => !options.Balance ? train[random.Next(train.Count)] : i % 2 == 0 ? positives[random.Next(positives.Length)] : negatives[random.Next(negatives.Length)]).ToArray();
        var engine = new LocalTextGenerator(model, tokenizer, new LocalGeneratorOptions { MaxBatchRows = 64 });
        var sampling = new SamplingOptions { NumSamples = grpo.GroupSize, MaxNewTokens = grpo.MaxNewTokens, Temperature = grpo.Temperature };
        var kept = sampleTurnOne
            ? KeptWithTurnOne(engine, template, template.ResultFirst!, prompts, sampling, options.Seed, cancellationToken)
            : KeptResponses(engine, template, prompts, sampling, options.Seed, cancellationToken);
        if (kept.Count == 0) return null;
        var updates = grpo.Steps * (int)Math.Ceiling(grpo.PromptsPerStep * grpo.GroupSize / (double)grpo.MiniBatchSize);
        var sft = Sft(options, updates, learningRate ?? options.WarmupLearningRate, appendEos: true, batchSize: grpo.MiniBatchSize);
        return new SftTrainer(model, tokenizer, sft).Train(kept, progress, cancellationToken);
    }

    private static IReadOnlyList<GenerationResult> Generate(ITextGenerator engine, GenerationRequest[] requests, CancellationToken cancellationToken) =>
        engine.GenerateAsync(requests, cancellationToken).GetAwaiter().GetResult();

    private static bool Right(string response, bool label) => VerdictParser.Parse(response) is var v && v != Verdict.Unparseable && (v == Verdict.Positive) == label;

    /// <summary>RS-FT's kept responses: <see cref="GrpoOptions.GroupSize"/> samples of each prompt whose verdict equals its label.</summary>
    private static List<SftExample> KeptResponses(ITextGenerator engine, JudgeTemplate template, JudgeExample[] prompts, SamplingOptions sampling, int seed, CancellationToken cancellationToken)
    {
        var texts = prompts.Select(e => template.Render(e.Input)).ToArray();
        var results = Generate(engine, texts.Select((t, i) => GenerationRequest.FromText(t, sampling with { Seed = (long)seed * 1_000_003 + i })).ToArray(), cancellationToken);
        return prompts.SelectMany((e, i) => results[i].Samples.Where(s => Right(s.Text, e.Label)).Select(s => new SftExample(texts[i], s.Text))).ToList();
    }

    /// <summary>
    /// RS-FT's kept responses when GRPO samples turn 1 (<see cref="GrpoOptions.SampleTurnOne"/>): a prompt whose step
    /// needs turn 1 gets <see cref="GrpoOptions.GroupSize"/> sampled lines, each followed by one sampled turn 2, and
    /// both turns of a response are kept when its verdict equals the label; other prompts as <see cref="KeptResponses"/>.
    /// </summary>
    internal static List<SftExample> KeptWithTurnOne(ITextGenerator engine, JudgeTemplate template, ResultFirstTemplate resultFirst, JudgeExample[] prompts,
        SamplingOptions sampling, int seed, CancellationToken cancellationToken)
    {
        long Seed(int i) => (long)seed * 1_000_003 + i;
        var open = Enumerable.Range(0, prompts.Length).Where(i => resultFirst.NeedsTurnOne(prompts[i].Input)).ToArray();
        var turnOne = open.Select(i => resultFirst.TurnOne(prompts[i].Input)!).ToArray();
        var lineSampling = ResultFirstTemplate.LineSampling(sampling, resultFirst.TurnOneTokens);
        var lines = Generate(engine, open.Select((i, k) => GenerationRequest.FromText(turnOne[k], lineSampling with { Seed = Seed(i) + 5_003 })).ToArray(), cancellationToken);
        var kept = KeptResponses(engine, template, prompts.Where(e => !resultFirst.NeedsTurnOne(e.Input)).ToArray(), sampling, seed, cancellationToken);
        var pairs = open.SelectMany((i, k) => lines[k].Samples.Select(l => (Example: prompts[i], TurnOne: turnOne[k], Line: ResultFirstTemplate.LineOf(l.Text), Seed: Seed(i)))).ToArray();
        var texts = pairs.Select(p => template.Render(p.Example.Input with { Reference = p.Line })).ToArray();
        var results = Generate(engine, texts.Select((t, j) => GenerationRequest.FromText(t, sampling with { NumSamples = 1, Seed = pairs[j].Seed + j })).ToArray(), cancellationToken);
        for (var j = 0; j < pairs.Length; j++)
        {
            if (!Right(results[j].Samples[0].Text, pairs[j].Example.Label)) continue;
            kept.Add(new SftExample(pairs[j].TurnOne, pairs[j].Line));
            kept.Add(new SftExample(texts[j], results[j].Samples[0].Text));
        }
        return kept;
    }

    /// <summary>
    /// The discriminative baseline on exactly what the generative judge's verdict stage sees: the same (selected,
    /// balanced) labelled steps, the same number of updates, batch and learning rate; pass the model after
    /// <see cref="Pretrain"/> so both start from the same weights.
    /// </summary>
    public static DiscriminativeJudge TrainDiscriminative(CausalLM model, Tokenizer tokenizer, JudgeTemplate template, IReadOnlyList<JudgeExample> labelled,
        JudgeRecipeOptions? options = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options = Validated(options);
        var judge = new DiscriminativeJudge(model, tokenizer, template);
        judge.Train(Prepare(labelled, options), Sft(options, options.WarmupSteps, options.WarmupLearningRate, appendEos: false), progress, cancellationToken);
        return judge;
    }

    private static IReadOnlyList<JudgeExample> Prepare(IReadOnlyList<JudgeExample> labelled, JudgeRecipeOptions options)
    {
        ArgumentNullException.ThrowIfNull(labelled);
        var positives = labelled.Count(e => e.Label);
        if (positives == 0 || positives == labelled.Count)
            throw new ArgumentException($"the labelled steps need both labels; got {positives} positive and {labelled.Count - positives} negative", nameof(labelled));
        return options.Balance ? LabelBalancer.Balance(labelled, e => e.Label, options.Seed) : labelled;
    }

    private static SftOptions Sft(JudgeRecipeOptions o, int steps, double lr, bool appendEos, int? batchSize = null) => new()
    {
        Steps = steps, BatchSize = batchSize ?? o.BatchSize, LearningRate = lr, WarmupSteps = Math.Min(20, Math.Max(1, steps / 10)), MaxSequenceLength = o.MaxSequenceLength,
        Seed = o.Seed, AppendEos = appendEos,
    };

    private static JudgeRecipeOptions Validated(JudgeRecipeOptions? options)
    {
        options ??= new JudgeRecipeOptions();
        options.Validate();
        return options;
    }
}
