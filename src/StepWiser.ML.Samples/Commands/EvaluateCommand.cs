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
        var command = new Command("evaluate", "Evaluate a saved judge on ProcessBench-format files.") { judge, input, output, limit };
        command.SetAction(parse =>
        {
            var judgeDir = parse.GetValue(judge)!;
            if (!File.Exists(Path.Combine(judgeDir.FullName, "stepwiser-judge.json"))) return Cli.Fail($"evaluate: {judgeDir.FullName} is not a saved StepWiser judge (no stepwiser-judge.json).");
            var files = parse.GetValue(input)!;
            foreach (var f in files) if (!f.Exists) return Cli.Fail($"evaluate: input file {f.FullName} does not exist.");
            var take = parse.GetValue(limit);
            var ml = new MLContext();
            var records = files.SelectMany(f => take > 0 ? ProcessBench.Read(f.FullName).Take(take) : ProcessBench.Read(f.FullName)).ToArray();
            using var transformer = StepwiseJudgeTransformer.Load(judgeDir.FullName);
            transformer.Judge.Options.ChunksColumnName = "Steps";
            var judged = transformer.Transform(ml.Data.LoadFromEnumerable(records));
            var predicted = judged.GetColumn<int>(transformer.Judge.Options.FirstRejectedColumnName).ToArray();
            var verdicts = judged.GetColumn<bool[]>(transformer.Judge.Options.VerdictsColumnName).ToArray();
            if (parse.GetValue(output) is { } outFile)
                File.WriteAllLines(outFile.FullName, records.Select((r, i) => new JsonObject
                {
                    ["id"] = r.Id, ["subset"] = r.Subset, ["label"] = r.Label, ["predicted"] = predicted[i],
                    ["verdicts"] = new JsonArray(verdicts[i].Select(v => (JsonNode)v).ToArray()),
                }.ToJsonString()));
            Console.WriteLine(ProcessBenchMetrics.Compute(records.Select((r, i) => (r.Subset, r.Label, predicted[i]))));
            return 0;
        });
        return command;
    }
}
