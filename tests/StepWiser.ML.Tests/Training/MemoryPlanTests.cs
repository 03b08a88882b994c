using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Training;

/// <summary>
/// The memory plan: its parameter count is the model's, its parts follow the settings, the largest fitting batch is
/// the largest that fits, and the trainers refuse a run over their limit before allocating anything (or choose the
/// micro-batch). How close it is to measured peaks is the benchmark's (<c>--suite memory-plan</c>).
/// </summary>
[TestClass]
public sealed class MemoryPlanTests
{
    private static readonly string[] ReferenceModels = ["qwen2-tiny", "qwen2-tiny-tied-bf16", "qwen3-tiny", "llama-tiny", "llama3-tiny-rope-scaled"];
    private static readonly string[] DocumentedModels = ["qwen2.5-1.5b-instruct", "qwen2.5-7b-instruct", "qwen3-1.7b", "qwen3-8b"];

    [TestMethod]
    public void TheParameterCountIsTheModelsForEveryArchitecture()
    {
        var configs = new List<(string Name, ModelConfig Config)>
        {
            ("Tiny", BuiltInModels.Tiny), ("Small", BuiltInModels.Small), ("Medium", BuiltInModels.Medium),
            ("Qwen3 untied", BuiltInModels.Tiny with { ModelType = "qwen3", Architectures = ["Qwen3ForCausalLM"], TieWordEmbeddings = false }),
        };
        configs.AddRange(ReferenceModels.Select(m => (m, ModelConfig.Load(Path.Combine(TestData.Root, "reference-models", m, "config.json")))));
        // The documented real models, built on the meta device (no memory): 1.54 B, 7.62 B, 1.72 B and 8.19 B parameters.
        configs.AddRange(DocumentedModels.Select(m => (m, ModelConfig.Load(Repository.PathOf("docs", "examples", "configs", m + ".json")))));
        foreach (var (name, config) in configs)
        {
            using var model = new CausalLM(config, new Device("meta"));
            Assert.AreEqual(model.ParameterCount, MemoryPlan.CountParameters(config), name);
        }
    }

    private static long Part(MemoryPlan plan, string name) => plan.Parts.Where(p => p.Name == name).Sum(p => p.Bytes);

    [TestMethod]
    public void ThePartsFollowTheTypeTheOptimizerTheReferenceAndCheckpointing()
    {
        var config = ModelConfig.Load(Repository.PathOf("docs", "examples", "configs", "qwen2.5-1.5b-instruct.json"));
        var p = MemoryPlan.CountParameters(config);
        MemoryPlan Plan(Action<MemoryPlanOptions> set)
        {
            var options = new MemoryPlanOptions { BatchSize = 4 };
            set(options);
            return MemoryPlan.For(config, options);
        }
        var master = Plan(_ => { });
        Assert.AreEqual(2 * p, Part(master, "weights"));
        Assert.AreEqual(2 * p, Part(master, "gradients"));
        Assert.AreEqual(8 * p, Part(master, "optimizer state"), "float32 moments");
        Assert.AreEqual(4 * p, Part(master, "master weights"), "a float32 master copy");
        Assert.AreEqual(0, Part(master, "reference model"), "no KL, no reference");
        var split = Plan(o => o.Precision = OptimizerPrecision.SplitMasterWeights);
        Assert.AreEqual(4 * p, Part(split, "optimizer state"), "bfloat16 moments");
        Assert.AreEqual(2 * p, Part(split, "master weights"), "the master's lower halves");
        var wide = Plan(o => o.DType = ScalarType.Float32);
        Assert.AreEqual(4 * p, Part(wide, "weights"));
        Assert.AreEqual(0, Part(wide, "master weights"), "float32 weights are their own master");
        Assert.AreEqual(2 * p, Part(Plan(o => o.KlReference = true), "reference model"), "the reference in the training type");
        var checkpointed = Plan(o => o.ActivationCheckpointing = true);
        Assert.IsLessThan(Part(master, "activations") / 10, Part(checkpointed, "activations"), "checkpointing keeps one input a layer");
        var inference = Plan(o => o.Task = MemoryTask.Inference);
        Assert.AreEqual(0, Part(inference, "gradients") + Part(inference, "activations"), "inference holds weights and a KV cache");
        Assert.AreEqual(4L * (512 + 512) * 2 * 28 * 2 * 128 * 2, Part(inference, "KV cache"), "rows × positions × keys and values × layers × kv heads × head_dim × 2 bytes");
        Assert.AreEqual(master.PeakBytes, master.Parts.Where(x => x.Phase == MemoryPhase.Held).Sum(x => x.Bytes)
            + master.Parts.Where(x => x.Phase == master.PeakPhase).Sum(x => x.Bytes), "the peak is what is held and the largest phase");
    }

    [TestMethod]
    public void TheLargestBatchFitsAndOneMoreDoesNot()
    {
        var options = new MemoryPlanOptions { Task = MemoryTask.Sft, BatchSize = 1, PromptLength = 256, ResponseLength = 256, DType = ScalarType.Float32 };
        var budget = MemoryPlan.For(BuiltInModels.Medium, options.WithBatchSize(13)).PeakBytes + 1000;
        var largest = MemoryPlan.LargestBatch(BuiltInModels.Medium, options, budget, maxBatch: 64);
        Assert.AreEqual(13, largest);
        Assert.AreEqual(64, MemoryPlan.LargestBatch(BuiltInModels.Medium, options, long.MaxValue, maxBatch: 64), "capped at the mini-batch");
        Assert.AreEqual(0, MemoryPlan.LargestBatch(BuiltInModels.Medium, options, budgetBytes: 1000, maxBatch: 64), "the weights alone do not fit");
    }

    private static readonly JudgeTemplate Short = new("short", i => i.Chunk + " =>");

    private static JudgeExample[] Examples() =>
        Enumerable.Range(0, 16).Select(i => new JudgeExample(new JudgeInput("p", [], $"x{i} step"), i % 2 == 0)).ToArray();

    [TestMethod]
    public void GrpoRefusesARunOverItsLimitBeforeAllocatingAndNamesTheMicroBatchThatFits()
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2);
        var options = new GrpoOptions { Steps = 1, PromptsPerStep = 4, MiniBatchSize = 16, MaxNewTokens = 24 };
        var plan = new MemoryPlanOptions { Task = MemoryTask.Grpo, BatchSize = 16, PromptLength = Examples().Max(e => BuiltInTokenizer.Create().CountTokens(Short.Render(e.Input))),
            ResponseLength = 24, DType = ScalarType.Float32 };
        var limit = MemoryPlan.For(BuiltInModels.Tiny, plan.WithBatchSize(5)).PeakBytes + 100;
        var before = model.parameters().Select(p => p.detach().clone()).ToArray();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var tensors = Tensor.TotalCount;
        var refused = Assert.ThrowsExactly<MemoryPlanException>(() => new GrpoTrainer(model, BuiltInTokenizer.Create(), Short, options with { MemoryLimitBytes = limit }).Train(Examples()));
        Assert.AreEqual(5, refused.FittingBatch);
        StringAssert.Contains(refused.Message, "the largest part is");
        StringAssert.Contains(refused.Message, "a micro-batch of 5 would fit");
        Assert.IsFalse(refused.Message.Contains('\n'), "one line");
        Assert.IsLessThanOrEqualTo(tensors + 2, Tensor.TotalCount, "nothing was allocated (no optimizer state, no reference, no generation)");
        Assert.IsTrue(model.parameters().Zip(before).All(p => p.First.equal(p.Second).all().item<bool>()), "the model is untouched");

        var chooser = new GrpoTrainer(model, BuiltInTokenizer.Create(), Short, options with { MemoryLimitBytes = limit, ChooseMicroBatch = true });
        chooser.Train(Examples());
        Assert.AreEqual(5, chooser.ChosenMicroBatch, "the largest micro-batch the plan fits");
    }

    [TestMethod]
    public void SftRefusesABatchOverItsLimit()
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2);
        var examples = Enumerable.Range(0, 8).Select(i => new SftExample($"q{i} ", $"a{i}")).ToArray();
        var refused = Assert.ThrowsExactly<MemoryPlanException>(() =>
            new SftTrainer(model, BuiltInTokenizer.Create(), new SftOptions { Steps = 1, BatchSize = 8, MemoryLimitBytes = 1 << 20 }).Train(examples));
        StringAssert.Contains(refused.Message, "over the limit of");
        Assert.AreEqual(0, refused.FittingBatch, "1 MiB holds not even the weights and the optimizer state");
    }
}
