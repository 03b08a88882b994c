using System.CommandLine;
using StepWiser.ML.Data;
using StepWiser.ML.Models;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// <c>export</c>: writes a checkpoint (a policy, or a judge saved by train-judge) as the Hugging Face folder vLLM and
/// transformers load as it is, in the weight type asked for: config.json (with its torch_dtype), generation_config.json,
/// safetensors in that type, tokenizer.json and tokenizer_config.json with the chat template. A judge's manifest goes
/// with it, so the exported folder is still a judge for <c>evaluate --judge</c> (and names the template a served copy
/// is prompted with). The folder is written beside the output and swapped in whole.
/// </summary>
internal static class ExportCommand
{
    /// <summary>The StepWiser files of a saved judge, copied as they are.</summary>
    private static readonly string[] Manifests = ["stepwiser-judge.json", "stepwiser-discriminative-judge.json"];

    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "The checkpoint to export (Hugging Face layout with tokenizer.json): a policy, or a judge folder.", Required = true };
        var output = new Option<DirectoryInfo>("--output") { Description = "The folder to write.", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "The weight type of the exported safetensors: bf16 (what vLLM serves a bf16 model in), fp16 or fp32.", DefaultValueFactory = _ => "bf16" };
        var device = new Option<string>("--device") { Description = "Where the weights are converted: cpu (default), cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing, non-empty --output folder." };
        var command = new Command("export", "Write a checkpoint or judge as a Hugging Face folder for vLLM/transformers, in bf16, fp16 or fp32.") { model, output, dtype, device, overwrite };
        command.SetAction(parse =>
        {
            var source = parse.GetValue(model)!.FullName;
            if (!File.Exists(Path.Combine(source, "config.json"))) return Cli.Fail($"export: --model {source} is not a Hugging Face checkpoint (no config.json).");
            if (!File.Exists(Path.Combine(source, "tokenizer.json"))) return Cli.Fail($"export: --model {source} has no tokenizer.json.");
            var target = parse.GetValue(output)!.FullName.TrimEnd(Path.DirectorySeparatorChar);
            new PathGuard().InputFolder("--model", source).OutputFolder("--output", target).Check();
            Cli.CheckOutputFolder("--output", target);
            if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any() && !parse.GetValue(overwrite))
                return Cli.Fail($"export: --output {target} exists and is not empty; give a new folder or --overwrite.");
            var torchDtype = Cli.DType(parse.GetValue(dtype)!);
            var torchDevice = Cli.Device(parse.GetValue(device)!);
            using var bundle = ModelBundle.Load(source, torchDevice, torchDtype);
            var copied = Manifests.Where(m => File.Exists(Path.Combine(source, m))).ToArray();
            AtomicFolder.Write(target, folder =>
            {
                bundle.Save(folder);
                foreach (var m in copied) File.Copy(Path.Combine(source, m), Path.Combine(folder, m));
            });
            var files = Directory.GetFiles(target).Select(Path.GetFileName).Order(StringComparer.Ordinal);
            Console.WriteLine($"exported {bundle.Model.ParameterCount:N0} parameters in {bundle.Model.DType} to {target}: {string.Join(", ", files)}"
                + (bundle.ChatTemplate is { } chat ? $" ({chat.Flavor} chat template)" : " (no chat template)"));
            return 0;
        });
        return command;
    }
}
