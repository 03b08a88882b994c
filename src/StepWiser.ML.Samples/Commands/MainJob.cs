using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Tokenizers;
using StepWiser.ML.Annotation;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Chunking;
using StepWiser.ML.Data;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Samples.Reporting;
using StepWiser.ML.Search;
using StepWiser.ML.Selection;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// The whole StepWiser method on the built-in world: train the policy, sample and chunk solutions, annotate them by
/// Monte-Carlo rollouts, balance, warm up and train judges (GRPO per label scheme, and the baselines), evaluate them on
/// a held-out ProcessBench-style benchmark, run chunk-reset search and judge-based data selection, and write the three
/// result tables (Markdown and CSV), the labelled steps (TRL JSONL), PNG plots (GRPO reward and entropy, judge accuracy by
/// step position, search accuracy vs tokens), the models (Hugging Face layout) and a report.md that ties them together.
/// Each stage is one method of <see cref="Run"/>, in the paper's order; the method itself is in the library.
/// </summary>
internal static partial class MainJob
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string output, MainJobPreset preset, CancellationToken cancellationToken, StageConsole? console = null)
    {
        CheckOutput(output);
        Directory.CreateDirectory(output);
        using var run = new Run(output, preset, console ?? new StageConsole(), cancellationToken);
        await run.PolicyAsync();                                  // 1. the policy, trained into its accuracy band; what the world lets the method show
        var solutions = await run.SolutionsAsync();               // 2. its solutions on mixed prompts, chunked
        var labelled = run.Annotate(solutions);                   // 3. Monte-Carlo labels, three schemes, a held-out split
        var chosen = await run.JudgesAsync(labelled);             // 4-5. judges trained and scored on the dev and test benchmarks
        await run.SearchAsync(chosen);                            // 6. chunk-reset search, with its whole cost, against a majority vote
        await run.SelectAsync(chosen);                            // 7. data selection: judge, outcome, random
        run.Finish();                                             // 8. curves, claims.json and the report
        return 0;
    }

    /// <summary>
    /// Refuses, before any work, an --output that is a file or a non-empty folder holding no earlier main job's output
    /// (its policy manifest, report or rollout store): a mistyped path must not fill, or overwrite files in, a folder of
    /// something else. A folder of an earlier run is reused (its policy and rollouts) and its results replaced.
    /// </summary>
    internal static void CheckOutput(string output)
    {
        // A foreign folder is refused before Cli's writability probe, which would write a file into it.
        var foreign = Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any()
            && !File.Exists(Path.Combine(output, "policy", "stepwiser-policy.json")) && !File.Exists(Path.Combine(output, "report.md")) && !Directory.Exists(Path.Combine(output, "rollouts"));
        if (foreign)
            throw new CliException($"--output {Path.GetFullPath(output)} is a non-empty folder that holds no main job's output (no policy/stepwiser-policy.json, report.md or rollouts/); choose a new or empty folder (nothing there was touched)");
        Cli.CheckOutputFolder("--output", output);
    }

    /// <summary>The labelled steps each judge trains on, per scheme: every annotated solution's steps up to its first negative label.</summary>
    private sealed record Labelled(IReadOnlyDictionary<LabelScheme, JudgeExample[]> Train);

    /// <summary>The judge search and selection use (chosen on the dev benchmark), with the scheme it learned from.</summary>
    private sealed record ChosenJudge(string Name, LabelScheme Scheme, IStepJudge Judge);

    private sealed partial class Run : IDisposable
    {
        private readonly string _output;
        private readonly MainJobPreset _preset;
        private readonly StageConsole _ui;
        private readonly CancellationToken _ct;
        private readonly MLContext _ml = new(seed: 1);
        private readonly MathAnswerVerifier _verifier = new();
        private readonly ArithmeticChainWorld _world;
        private readonly Tokenizer _tokenizer = BuiltInTokenizer.Create();
        private readonly StringBuilder _report;
        private readonly Dictionary<string, double> _claims = [];
        private readonly List<(string Name, IReadOnlyList<GrpoStepMetrics> Metrics)> _curves = [];
        private readonly List<IDisposable> _owners = [];
        private string _policyDir = "";
        private CausalLM? _policyModel;
        private LocalTextGenerator _policy = null!;
        private IReadOnlyList<WorldProblem> _heldOut = [];
        private PolicyEvaluation _baseline = null!;
        private IReadOnlyList<WorldProblem> _problems = [];
        private int _mixedPrompts;

        public Run(string output, MainJobPreset preset, StageConsole ui, CancellationToken cancellationToken)
        {
            (_output, _preset, _ui, _ct) = (output, preset, ui, cancellationToken);
            Directory.CreateDirectory(Path.Combine(output, "results"));
            _world = new ArithmeticChainWorld(preset.World());
            _report = new StringBuilder($"# StepWiser on the built-in world (preset {preset.Name})\n\n");
            var threads = TorchSharp.torch.get_num_threads();
            var command = F($"dotnet run --project src/StepWiser.ML.Samples -c Release -- {(preset.Name == "default" ? "" : $"--preset {preset.Name} ")}--threads {threads}");
            _report.AppendLine(F($"Written by the main job, `{command}` (torch on {threads} thread{(threads == 1 ? "" : "s")}): every number below comes from that run (the same command and thread count give the same file; the run's times are in `timings.md` beside it). Gold labels and the exact checker only score; every judge learns from Monte-Carlo labels.\n"));
            if (preset.Name == "smoke")
                _report.AppendLine("> **Smoke run: every number below is meaningless.** The smoke preset only proves that every stage runs end to end (a policy trained for seconds, a handful of problems). \"n/a\" marks a value that is undefined at this size (for example GRPO entropy when no group had mixed rewards, so nothing was updated). Use `--preset default` for results.\n");
        }

        private int SolutionTokens => _world.Options.SolutionTokenBudget;

        /// <summary>A file of the run's <c>results/</c> folder (tables, plots, claims): what docs/results/ publishes beside the report.</summary>
        private string Result(string name) => Path.Combine(_output, "results", name);

        private void Stage(string text) => _ui.Line(text);

        /// <summary>
        /// 1. SFT from scratch on canonical chunked solutions, stopped when validation accuracy enters the preset's band
        /// (reused when the folder has one for this preset); then what the world lets the method show, measured on the
        /// policy's own held-out samples with the exact checker (evaluation only).
        /// </summary>
        public async Task PolicyAsync()
        {
            _policyDir = Path.Combine(_output, "policy");
            var policyNote = TrainOrReusePolicy(_ui, _world, _preset, _policyDir, _ct);
            _policyModel = HuggingFaceCheckpoint.Load(_policyDir);
            _policy = new LocalTextGenerator(_policyModel, _tokenizer);
            _heldOut = _world.Generate("heldout", _preset.SearchProblems, 1);
            _baseline = await WorldPolicy.EvaluateAsync(_policy, _heldOut, new SamplingOptions { NumSamples = 4, MaxNewTokens = SolutionTokens, Temperature = 1, Seed = 1 }, _ct);
            // The same rounding as the report's line (P1 of 0.4775 gives 47.7 %, F1 of 47.75 gives 47.8).
            Stage(F($"policy: {policyNote}; held-out accuracy {100 * _baseline.Accuracy:F1} % (T = 1, {_heldOut.Count} problems × 4), {100 * _baseline.MixedPromptRate:F0} % of problems mixed"));
            _report.AppendLine(F($"Policy: {policyNote}; held-out accuracy **{100 * _baseline.Accuracy:F1} %** (T = 1, {_heldOut.Count} problems × 4 samples).\n"));
            if (_preset.PolicyBand is null) _report.AppendLine("**Smoke preset: every stage runs, but the models are far too small and short-trained for any number below to mean anything.**\n");
            ReportWorld();
        }

        /// <summary>What the world lets each part of the method show, measured on the policy's held-out samples.</summary>
        private void ReportWorld()
        {
            var distinct = _baseline.DistinctCorrectShare;
            var flawed = _baseline.FlawedCorrectShare;
            var divisions = StepsByOperator(_baseline.Checks.SelectMany(c => c), '/');
            var others = StepsByOperator(_baseline.Checks.SelectMany(c => c), null);
            _claims["distinct_correct_share"] = Round(distinct);
            _claims["flawed_correct_share"] = Round(flawed);
            _report.AppendLine("## The world\n");
            _report.AppendLine(F($"The several-paths world at difficulty {_preset.Difficulty} ({_world.Options.Digits} digits, {_world.Options.MinOperations}–{_world.Options.MaxOperations} operations and a set digit in {100 * _world.Options.OverwriteRate:F0} % of problems; see docs/world-and-annotation.md). What it lets the method show, on the policy's {_heldOut.Count} × 4 held-out samples (exact checker, evaluation only):\n"));
            _report.AppendLine("| property | measured |\n|---|---|");
            _report.AppendLine(F($"| problems whose right-answer samples are not all one text (of those with two or more) | {Pct(distinct)} |"));
            _report.AppendLine(F($"| right-answer samples with a wrong step | {Pct(flawed)} |"));
            _report.AppendLine(F($"| division steps the policy writes right (steps up to each first error) | {Pct(divisions)} |"));
            _report.AppendLine(F($"| other steps the policy writes right | {Pct(others)} |"));
            _report.AppendLine();
        }

        /// <summary>The share of right steps among the steps (up to each solution's first error) whose equation uses <paramref name="op"/> (null: any other step).</summary>
        private static double StepsByOperator(IEnumerable<StepCheck> checks, char? op)
        {
            int total = 0, right = 0;
            foreach (var c in checks)
            {
                var last = c.FirstErrorIndex < 0 ? c.Chunks.Count - 1 : c.FirstErrorIndex;
                for (var k = 0; k <= last && k < c.Chunks.Count; k++)
                {
                    var isDivision = c.Chunks[k].Contains('/', StringComparison.Ordinal);
                    if (op is null ? isDivision : !isDivision) continue;
                    total++;
                    if (c.ChunkIsCorrect[k]) right++;
                }
            }
            return total == 0 ? double.NaN : right / (double)total;
        }

        /// <summary>2. Solutions from prompts with some but not all samples right, written in the format <c>annotate --input</c> reads.</summary>
        public async Task<SolutionRow[]> SolutionsAsync()
        {
            _problems = _world.Generate("annotate", _preset.AnnotationProblems, 1);
            var sampled = await PromptFilter.SampleAsync(_policy, _verifier, _problems.Select(p => (p.Prompt, p.AnswerText)).ToArray(),
                new SamplingOptions { NumSamples = _preset.SamplesPerProblem, MaxNewTokens = SolutionTokens, Temperature = 1, Seed = 2 }, _ct);
            var solutions = sampled.Select((s, i) => (s, p: _problems[i])).Where(x => x.s.IsMixed)
                .SelectMany(x => x.s.Solutions.Select(sol => new SolutionRow { Problem = x.p.Problem, Prompt = x.p.Prompt, Solution = sol, Answer = x.p.AnswerText })).ToArray();
            Stage($"{solutions.Length} solutions from {sampled.Count(s => s.IsMixed)}/{_problems.Count} mixed prompts");
            JsonLines.Write(Path.Combine(_output, "solutions.jsonl"), solutions,
                row => new System.Text.Json.Nodes.JsonObject { ["prompt"] = row.Prompt, ["solution"] = row.Solution, ["answer"] = row.Answer }.ToJsonString());
            _mixedPrompts = sampled.Count(s => s.IsMixed);
            return solutions;
        }

        /// <summary>
        /// 3. Chunking and Monte-Carlo annotation as ML.NET stages (one set of rollouts serves the three schemes); each
        /// solution's steps up to its first negative label are what the judges train on.
        /// </summary>
        public Labelled Annotate(SolutionRow[] solutions)
        {
            var data = _ml.Data.LoadFromEnumerable(solutions);
            var chunker = _ml.StepWiser().Transforms.ChunkSteps(new StepChunkerOptions { MalformedPolicy = MalformedChunkPolicy.Repair }).Fit(data);
            var rows = _ui.Run($"annotating by Monte-Carlo rollouts (M = {_preset.Rollouts})", solutions.Length, "solutions", bar =>
            {
                var mcOptions = new MonteCarloOptions { Rollouts = _preset.Rollouts, MaxNewTokens = SolutionTokens, BatchSize = 16, StoreDirectory = Path.Combine(_output, "rollouts"), PolicyName = HuggingFaceCheckpoint.Fingerprint(_policyDir),
                    Progress = Progress<MonteCarloProgress>(p => bar.Report(p.Rows, F($"{p.Rollouts:N0} rollouts, {p.RolloutsPerSecond:N0}/s"))) };
                using var annotator = _ml.StepWiser().Transforms.AnnotateMonteCarlo(_policy, _verifier, mcOptions).Fit(chunker.Transform(data));
                return _ml.Data.CreateEnumerable<AnnotatedRow>(annotator.Transform(chunker.Transform(data)), reuseRowObject: false).ToArray();
            });
            var usable = rows.Select(r => r.ToSolution()).Where(s => s.IsComplete).ToArray();
            var labelled = new Labelled(Enum.GetValues<LabelScheme>().ToDictionary(s => s, s => JudgeRecipe.SelectSteps(usable.Select(x => x.ToExample(s)), StepSelection.UpToFirstNegative).ToArray()));
            foreach (var scheme in Enum.GetValues<LabelScheme>())
                TrlStepwiseFormat.Write(Path.Combine(_output, $"labels-{Slug(scheme.ToString())}.jsonl"), usable.Select(s => s.ToExample(scheme)));
            var absQ = labelled.Train[LabelScheme.AbsoluteQ];
            if (labelled.Train.Values.Any(e => e.Length == 0) || !absQ.Any(e => e.Label) || absQ.All(e => e.Label))
                throw new CliException($"no usable labelled steps: {_mixedPrompts} of {_problems.Count} prompts had both right and wrong samples; the policy needs more training (a larger preset) or more annotation problems.");
            ReportLabels(usable, labelled);
            Stage($"annotated {rows.Length} solutions; positive rates " + string.Join(", ", labelled.Train.Select(e => F($"{e.Key} {100.0 * e.Value.Count(x => x.Label) / Math.Max(1, e.Value.Length):F0} %"))));
            return labelled;
        }

        /// <summary>How well each scheme's labels find the exact checker's errors (evaluation only; no label is ever taken from it).</summary>
        private void ReportLabels(IReadOnlyList<AnnotatedSolution> usable, Labelled labelled)
        {
            _report.AppendLine("## Monte-Carlo labels\n");
            _report.AppendLine(F($"{usable.Count} annotated solutions of the {_mixedPrompts} prompts (of {_problems.Count} sampled) with both right and wrong samples, {_preset.Rollouts} rollouts a step; labelled steps in `labels-*.jsonl` (TRL stepwise format).\n"));
            var byProblem = _problems.GroupBy(p => p.Problem).ToDictionary(g => g.Key, g => g.First());
            var checks = usable.Select(s => ArithmeticChainWorld.Check(byProblem[s.Problem], s.Chunks)).ToArray();
            _report.AppendLine("Training steps are each solution's steps up to its first negative label (the steps the judges train on). How the labels agree with the exact checker (evaluation only) is measured over each solution's steps up to its first gold error.\n");
            _report.AppendLine("| scheme | training steps | positive rate | right steps labelled positive | first errors labelled negative |\n|---|---|---|---|---|");
            foreach (var (scheme, list) in labelled.Train)
            {
                var (rightPositive, errorNegative) = WorldJudging.LabelAgreement(checks, usable.Select(s => (IReadOnlyList<bool>)s.Values.Labels(scheme)).ToArray());
                _report.AppendLine(F($"| {Short(scheme)} | {list.Length} | {100.0 * list.Count(e => e.Label) / Math.Max(1, list.Length):F1} % | {Pct(rightPositive)} | {Pct(errorNegative)} |"));
            }
        }

        public void Dispose()
        {
            foreach (var owner in _owners) owner.Dispose();
            _owners.Clear();
            _policyModel?.Dispose();
        }
    }

    /// <summary>
    /// The mean of per-problem values measured under several seeds, and its standard error with the problem as the unit:
    /// <paramref name="values"/> holds seed after seed (<c>values[k * problems + i]</c>); each problem's values are averaged
    /// over the seeds first, because one problem's seeds are not independent draws (the policy repeats itself).
    /// </summary>
    private static (double Mean, double StandardError) PerProblem(IReadOnlyList<double> values, int problems)
    {
        var seeds = values.Count / problems;
        var m = Enumerable.Range(0, problems).Select(i => Enumerable.Range(0, seeds).Average(k => values[k * problems + i])).ToArray();
        var mean = m.Average();
        return (mean, m.Length < 2 ? double.NaN : Math.Sqrt(m.Sum(x => (x - mean) * (x - mean)) / (m.Length - 1) / m.Length));
    }

    /// <summary>A claim's value, rounded so that claims.json does not carry float noise; NaN stays NaN.</summary>
    /// <summary>A difference with its sign, one decimal: "+2.0", "-1.0", and "0.0" for anything that rounds to zero (never "-0.0").</summary>
    internal static string Signed(double value) => value.ToString("+0.0;-0.0;0.0", Inv);

    internal static double Round(double value, int digits = 4) => double.IsNaN(value) ? double.NaN : Math.Round(value, digits) is var r && r == 0 ? 0.0 : r;   // never a negative zero in claims.json

    /// <summary>Percent with one decimal; "n/a" where undefined.</summary>
    private static string Pct(double share) => double.IsNaN(share) ? "n/a" : F($"{100 * share:F1} %");

    /// <summary>Percent with one decimal, or "mean ± sd" over several seeds; "n/a" where undefined.</summary>
    private static string Stat(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).ToArray();
        if (v.Length == 0) return "n/a";
        var mean = v.Average();
        if (v.Length == 1) return F($"{100 * mean:F1}");
        var sd = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
        return F($"{100 * mean:F1} ± {100 * sd:F1}");
    }

    private static string Short(LabelScheme scheme) => scheme switch { LabelScheme.AbsoluteQ => "Abs-Q", LabelScheme.RelativeRatio => "Rel-Ratio", _ => "Rel-Effective" };

    private static IProgress<T> Progress<T>(Action<T> report) => new SyncProgress<T>(report);

    private static string Slug(string name) => new string(name.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray()).Trim('-').Replace("--", "-", StringComparison.Ordinal);

    private static string F(FormattableString s) => s.ToString(Inv);

    /// <summary>Writes a result file whole or not at all (a temporary file renamed into place), never a half-written table.</summary>
    private static void WriteFile(string path, string text) => StepWiser.ML.Data.AtomicFile.WriteText(path, w => w.Write(text));

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
