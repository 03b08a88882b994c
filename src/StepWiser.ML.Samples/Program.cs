using System.CommandLine;
using StepWiser.ML.Samples.Commands;

// The samples app. Without a subcommand it runs the main job (the whole StepWiser method on the built-in world);
// `serve` exposes a model over an OpenAI-compatible API, `annotate` labels solutions by Monte-Carlo rollouts,
// `train-judge` trains a judge on those labels (the judge recipe: verdict warm-up, then GRPO), `evaluate` scores a saved
// or served judge on ProcessBench-format files, `merge` combines shards' rollout stores, `search` and `select` run
// chunk-reset search and judge-based data selection with your own policy and judge, `export` writes a checkpoint or
// judge for vLLM/transformers in the weight type asked for, `plan` predicts the memory of a training or generation
// run before anything is allocated.
var output = new Option<string>("--output") { Description = "Output folder (a rerun reuses the trained policy and the rollout store there).", DefaultValueFactory = _ => Path.Combine("out", "main") };
var preset = new Option<string>("--preset") { Description = "smoke (about 45 s idle on 2 cores; proves every stage runs, numbers meaningless), quick, default (the reported run; its measured time: docs/results/timings.md) or large.", DefaultValueFactory = _ => "default" };
var threads = new Option<int>("--threads") { Description = "Torch threads for the whole run (results are deterministic for a given count and differ across counts; docs/results.md names the count it was run with; on a busy machine 1 is faster).", DefaultValueFactory = _ => 2 };
var annotationProblems = new Option<int?>("--annotation-problems") { Description = "Problems sampled for Monte-Carlo annotation (default: the preset's; only prompts with both right and wrong samples are kept). More problems, more labelled steps for the judges." };
var root = new RootCommand("StepWiser.ML samples: the main job and tools around it.") { output, preset, threads, annotationProblems };
root.SetAction(async (parse, ct) =>
{
    var count = parse.GetValue(threads);
    if (count < 1) throw new CliException($"--threads must be at least 1 (got {count})");
    var chosen = MainJobPreset.Get(parse.GetValue(preset)!);
    if (parse.GetValue(annotationProblems) is { } problems)
    {
        if (problems < 1) throw new CliException($"--annotation-problems must be at least 1 (got {problems})");
        chosen = chosen with { AnnotationProblems = problems };
    }
    using var pinned = StepWiser.ML.Training.TorchThreads.Pin(count);
    return await MainJob.RunAsync(parse.GetValue(output)!, chosen, ct);
});
var demo = new Command("demo", "Foundation demo: train a small model to reverse digits, save/load it in Hugging Face layout, generate.") { };
demo.SetAction((parse, _) => DigitReversalDemo.RunAsync(Path.Combine("out", "foundation")));
root.Subcommands.Add(demo);
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(AnnotateCommand.Create());
root.Subcommands.Add(TrainJudgeCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(PlanCommand.Create());
root.Subcommands.Add(MergeCommand.Create());
root.Subcommands.Add(SearchCommand.Create());
root.Subcommands.Add(SelectCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(SamplesCommand.Create());

// Exit codes and the one-line error rule: see Cli. A parse error (unknown option, missing value) is bad input too:
// one line per error and a pointer to --help, exit 2, like every other bad input.
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine($"(run with --help for the options)");
    return Cli.BadInput;
}
try
{
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e)
{
    return Cli.Report(e);
}
