using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Infrastructure;

/// <summary>
/// A small policy of the built-in world, trained once per test run for a few seconds (so it knows the chunk format and
/// gets some answers right by skill or luck) and saved in Hugging Face layout in a temporary folder. Annotation,
/// judging and search tests share it; it is deleted when the test run ends.
/// </summary>
internal static class WorldPolicyFixture
{
    private static readonly Lazy<string> DirectoryLazy = new(Train, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The easy world the fixture policy is trained on.</summary>
    public static ArithmeticChainWorld World { get; } = new(new ArithmeticChainOptions { Difficulty = 0 });

    /// <summary>Folder of the trained policy (config.json, model.safetensors, tokenizer.json).</summary>
    public static string Directory => DirectoryLazy.Value;

    /// <summary>A fresh local engine over the policy.</summary>
    public static LocalTextGenerator Engine() => new(HuggingFaceCheckpoint.Load(Directory), BuiltInTokenizer.Create());

    private static string Train()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"stepwiser-test-policy-{Environment.ProcessId}");
        using var model = WorldPolicy.Train(World, new WorldPolicyOptions { Model = BuiltInModels.Tiny, Steps = 150, BatchSize = 32, LearningRate = 5e-3, TrainProblems = 4000, Seed = 1, TargetAccuracy = null });
        HuggingFaceCheckpoint.Save(model, dir);
        BuiltInTokenizer.Save(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { System.IO.Directory.Delete(dir, recursive: true); } catch (IOException) { } };
        return dir;
    }
}
