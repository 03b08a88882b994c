using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using StepWiser.ML.Annotation;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Training;
using static TorchSharp.torch;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// The warm-up stage of <c>train-judge</c>: <see cref="JudgeRecipe.WarmUp"/> on the selected steps, the verdict alone or
/// after the base's own re-derivation of each step (<see cref="RederivationAnalysis"/>). With a checkpoint folder the
/// warmed-up judge is kept there (<c>warmup/</c>, with the settings it was made with), so a resumed run starts GRPO from
/// it instead of warming up again, and a folder holding a warm-up of other settings is refused.
/// </summary>
internal sealed class JudgeWarmUpRun(JudgeRecipeOptions recipe, JudgeTemplate template, string analysis, PolicyPrompt? policyPrompt, string baseFingerprint, string inputFile)
{
    private const string Folder = "warmup";
    private const string SettingsFile = "stepwiser-warmup.json";
    private const int RederivationMaxNewTokens = 128;
    private const int ProgressLines = 10;

    /// <summary>Warms <paramref name="model"/> up (or takes the kept warm-up) and returns the model GRPO starts from.</summary>
    public ModelBundle Run(ModelBundle model, IReadOnlyList<JudgeExample> examples, string? checkpointDir, Device device, ScalarType dtype)
    {
        if (recipe.WarmupSteps == 0) return model;
        var settings = Settings();
        var kept = checkpointDir is null ? null : Path.Combine(checkpointDir, Folder);
        if (kept is not null && File.Exists(Path.Combine(kept, SettingsFile)))
        {
            var recorded = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(kept, SettingsFile))) ?? [];
            if (settings.FirstOrDefault(kv => !recorded.TryGetValue(kv.Key, out var v) || v != kv.Value) is { Key: not null } differs)
                throw new CliException($"train-judge: --checkpoints {checkpointDir} holds a warm-up made with other settings ({differs.Key}: '{(recorded.TryGetValue(differs.Key, out var was) ? was : "none")}', now '{differs.Value}'); give another --checkpoints folder.");
            model.Dispose();
            var warmed = ModelBundle.Load(kept, device, dtype);
            Console.Error.WriteLine($"warm-up: taken from {kept} (made with the same settings)");
            return warmed;
        }
        Func<JudgeInput, string>? analysisOf = null;
        if (policyPrompt is not null)
        {
            var inputs = examples.Select(e => e.Input).DistinctBy(i => (i.Problem, string.Join("\u0002", i.History), i.Chunk)).ToArray();
            Console.Error.WriteLine($"warm-up: the base re-derives {inputs.Length:N0} steps ({policyPrompt.Format} prompts)");
            var analyses = RederivationAnalysis.ComputeAsync(new LocalTextGenerator(model), inputs, i => policyPrompt.Build(i.Problem, i.History), RederivationMaxNewTokens).GetAwaiter().GetResult();
            analysisOf = RederivationAnalysis.Lookup(inputs, analyses);
        }
        var every = Math.Max(1, recipe.WarmupSteps / ProgressLines);
        var progress = new Progress<TrainingProgress>(p =>
        {
            if (p.Step % every == 0 || p.Step == p.TotalSteps)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  warm-up step {p.Step}/{p.TotalSteps}: loss {p.Loss:F4}, lr {p.LearningRate:G3}"));
        });
        JudgeRecipe.WarmUp(model.Model, model.Tokenizer, template, examples, analysisOf, recipe, progress);
        if (kept is not null)
            AtomicFolder.Write(kept, folder =>
            {
                model.Save(folder);
                AtomicFile.WriteText(Path.Combine(folder, SettingsFile), w => w.Write(JsonSerializer.Serialize(settings)));
            });
        return model;
    }

    /// <summary>What the warm-up depends on: the data, the base, the template and every warm-up setting.</summary>
    private Dictionary<string, string> Settings()
    {
        using var stream = File.OpenRead(inputFile);
        return new Dictionary<string, string>
        {
            ["input_sha256"] = Convert.ToHexString(SHA256.HashData(stream)),
            ["base"] = baseFingerprint,
            ["template"] = template.Name,
            ["step_selection"] = recipe.StepSelection.ToString(),
            ["analysis"] = analysis,
            ["analysis_prompt"] = policyPrompt?.Format ?? "",
            ["steps"] = recipe.WarmupSteps.ToString(CultureInfo.InvariantCulture),
            ["learning_rate"] = recipe.WarmupLearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["batch_size"] = recipe.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["balance"] = recipe.Balance.ToString(),
            ["max_sequence_length"] = recipe.MaxSequenceLength.ToString(CultureInfo.InvariantCulture),
            ["seed"] = recipe.Seed.ToString(CultureInfo.InvariantCulture),
        };
    }
}
