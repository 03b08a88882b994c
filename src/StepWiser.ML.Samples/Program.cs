using System.CommandLine;
using StepWiser.ML.Samples.Commands;

// The samples app. Without a subcommand it runs the main job; `serve` exposes a model over an OpenAI-compatible API.
var output = new Option<string>("--output") { Description = "Output folder.", DefaultValueFactory = _ => Path.Combine("out", "foundation") };
var root = new RootCommand("StepWiser.ML samples: the main job and tools around it.") { output };
root.SetAction((parse, _) => DigitReversalDemo.RunAsync(parse.GetValue(output)!));
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(AnnotateCommand.Create());

try
{
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (CliException e)
{
    return Cli.Fail(e.Message);
}
