using System.CommandLine;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Samples.Commands;

/// <summary><c>evaluate</c>: runs a saved judge over ProcessBench-format files and prints the ProcessBench table.</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var judge = new Option<DirectoryInfo>("--judge") { Description = "A judge saved by StepwiseJudgeTransformer.Save (Hugging Face layout + manifest).", Required = true };
        var input = new Option<FileInfo[]>("--input") { Description = "ProcessBench-format JSON files (e.g. ../shared/data/processbench/gsm8k.json).", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<FileInfo?>("--output") { Description = "JSONL of per-record predictions (id, subset, label, predicted, verdicts)." };
        var limit = new Option<int>("--limit") { Description = "Records per file (0 = all).", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { Description = "Where the judge runs: cpu, cuda or cuda:N (needs the CUDA backend package).", DefaultValueFactory = _ => "cpu" };
        var dtype = new Option<string>("--dtype") { Description = "The judge's weight type: fp32, bf16 or fp16.", DefaultValueFactory = _ => "fp32" };
        var command = new Command("evaluate", "Evaluate a saved judge on ProcessBench-format files.") { judge, input, output, limit, device, dtype };
        command.SetAction(parse =>
        {
            var judgeDir = parse.GetValue(judge)!;
            if (!File.Exists(Path.Combine(judgeDir.FullName, "stepwiser-judge.json"))) return Cli.Fail($"evaluate: {judgeDir.FullName} is not a saved StepWiser judge (no stepwiser-judge.json).");
            var files = parse.GetValue(input)!;
            foreach (var f in files) if (!f.Exists) return Cli.Fail($"evaluate: input file {f.FullName} does not exist.");
            var take = parse.GetValue(limit);
            Cli.AtLeast("--limit", take, 0);
            var outFile = parse.GetValue(output);
            if (outFile is not null) Cli.CheckOutputFile("--output", outFile.FullName, files.Select(f => f.FullName).ToArray());
            var torchDevice = Cli.Device(parse.GetValue(device)!);
            var torchDtype = Cli.DType(parse.GetValue(dtype)!);
            // Every file is read and checked before the judge is loaded.
            var records = files.SelectMany(f => take > 0 ? ProcessBench.Read(f.FullName).Take(take) : ProcessBench.Read(f.FullName)).ToArray();
            if (records.Length == 0) return Cli.Fail($"evaluate: {string.Join(", ", files.Select(f => f.Name))} hold{(files.Length == 1 ? "s" : "")} no records; nothing to evaluate (no output written).");
            var ml = new MLContext();
            // The judge loads in float32; another type is converted on the CPU before it moves, so the device never holds a float32 copy.
            var loadOn = torchDtype == TorchSharp.torch.ScalarType.Float32 ? torchDevice : TorchSharp.torch.CPU;
            using var transformer = StepwiseJudgeTransformer.Load(judgeDir.FullName, loadOn, configure: o => o with { ChunksColumnName = "Steps" });
            if (torchDtype != TorchSharp.torch.ScalarType.Float32) transformer.Model!.Model.To(torchDevice, torchDtype);
            Console.Error.WriteLine($"judge loaded on {transformer.Model!.Device} in {transformer.Model.Model.DType}");
            var predicted = new int[records.Length];
            var verdicts = new bool[records.Length][];
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var size = Math.Max(1, transformer.Judge.Options.BatchSize);
            for (var start = 0; start < records.Length; start += size)
            {
                var chunk = records.Skip(start).Take(size).ToArray();
                var judged = transformer.Transform(ml.Data.LoadFromEnumerable(chunk));
                judged.GetColumn<int>(transformer.Judge.Options.FirstRejectedColumnName).ToArray().CopyTo(predicted, start);
                judged.GetColumn<bool[]>(transformer.Judge.Options.VerdictsColumnName).ToArray().CopyTo(verdicts, start);
                var done = start + chunk.Length;
                var eta = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / done * (records.Length - done));
                Console.Error.WriteLine($"  judged {done}/{records.Length} records, ETA {eta:mm\\:ss}");
            }
            if (outFile is not null)
                AtomicText(outFile.FullName, records.Select((r, i) => new JsonObject
                {
                    ["id"] = r.Id, ["subset"] = r.Subset, ["label"] = r.Label, ["predicted"] = predicted[i],
                    ["verdicts"] = new JsonArray(verdicts[i].Select(v => (JsonNode)v).ToArray()),
                }.ToJsonString()));
            Console.WriteLine(ProcessBenchMetrics.Compute(records.Select((r, i) => (r.Subset, r.Label, predicted[i]))));
            return 0;
        });
        return command;
    }

    private static void AtomicText(string path, IEnumerable<string> lines) =>
        StepWiser.ML.Data.AtomicFile.WriteText(path, writer => { foreach (var line in lines) writer.WriteLine(line); });
}
