using System.CommandLine;
using StepWiser.ML.Samples.Commands;

// The samples app. Without a subcommand it runs the main job (the whole StepWiser method on the built-in world);
// `serve` exposes a model over an OpenAI-compatible API, `annotate` labels solutions by Monte-Carlo rollouts,
// `train-judge` trains a judge with GRPO on those labels, `evaluate` scores a saved judge on ProcessBench-format files.
var output = new Option<string>("--output") { Description = "Output folder (a rerun reuses the trained policy and the rollout store there).", DefaultValueFactory = _ => Path.Combine("out", "main") };
var preset = new Option<string>("--preset") { Description = "smoke (seconds; proves every stage runs), quick, default (the reported run, under 15 min on 2 cores) or large.", DefaultValueFactory = _ => "default" };
var root = new RootCommand("StepWiser.ML samples: the main job and tools around it.") { output, preset };
root.SetAction((parse, ct) => MainJob.RunAsync(parse.GetValue(output)!, MainJobPreset.Get(parse.GetValue(preset)!), ct));
var demo = new Command("demo", "Foundation demo: train a small model to reverse digits, save/load it in Hugging Face layout, generate.") { };
demo.SetAction((parse, _) => DigitReversalDemo.RunAsync(Path.Combine("out", "foundation")));
root.Subcommands.Add(demo);
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(AnnotateCommand.Create());
root.Subcommands.Add(TrainJudgeCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(SamplesCommand.Create());

try
{
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (CliException e)
{
    return Cli.Fail(e.Message);
}
