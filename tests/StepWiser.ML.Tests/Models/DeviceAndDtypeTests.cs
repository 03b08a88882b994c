using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Samples.Commands;
using StepWiser.ML.Serving;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

/// <summary>
/// Where a model runs and in which type: saved judges load straight into the type asked for; the device is the one
/// given, else the one <see cref="MLContext.GpuDeviceId"/> names (the CPU only when <see cref="MLContext.FallbackToCpu"/>
/// allows it), else the CPU; <c>serve</c> loads in the type asked for and ends a chat reply at the template's own end
/// of turn (<c>&lt;|eot_id|&gt;</c> for Llama 3).
/// </summary>
[TestClass]
public sealed class DeviceAndDtypeTests
{
    private static readonly JudgeTemplate Short = new("short", i => i.Chunk + " =>");

    [TestMethod]
    public void SavedJudgesLoadStraightIntoTheTypeAskedForWithTheLogitsOfTheCheckpointInThatType()
    {
        var dir = Directory.CreateTempSubdirectory("judge-dtype").FullName;
        try
        {
            var generative = Path.Combine(dir, "generative");
            using (var judge = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4)), JudgeTemplate.Compact)) judge.Save(generative);
            var discriminative = Path.Combine(dir, "discriminative");
            var ml = new MLContext(seed: 1);
            var steps = StepwiseJudgeTrainer.ToDataView(ml, [new JudgeExample(new JudgeInput("p", [], "ok"), true), new JudgeExample(new JudgeInput("p", [], "no"), false)]);
            using (var judge = ml.StepWiser().Trainers.Discriminative(new DiscriminativeJudgeTrainerOptions
                   {
                       Model = ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 5)), Template = Short, Recipe = new JudgeRecipeOptions { WarmupSteps = 1, BatchSize = 2 },
                   }).Fit(steps))
                judge.Save(discriminative);

            using var tokens = tensor(new long[] { 5, 6, 7, 8 }).unsqueeze(0);
            foreach (var type in new[] { ScalarType.BFloat16, ScalarType.Float16 })
            {
                using var g = StepwiseJudgeTransformer.Load(generative, dtype: type);
                using var d = DiscriminativeJudgeTransformer.Load(discriminative, template: Short, dtype: type);
                Assert.AreEqual(type, g.Model!.Model.DType);
                Assert.AreEqual(type, d.Model.Model.DType);
                using var plain = ModelBundle.Load(generative, CPU, type);
                using var expected = plain.Model.Forward(tokens);
                using var actual = g.Model.Model.Forward(tokens);
                Assert.IsTrue(expected.equal(actual).all().item<bool>(), $"the judge loaded in {type} computes what its checkpoint loaded in {type} computes");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [TestMethod]
    public void TheDeviceIsTheOneGivenElseTheContextsGpuElseTheCpu()
    {
        var dir = Directory.CreateTempSubdirectory("context-device").FullName;
        try
        {
            using (var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1)) HuggingFaceCheckpoint.Save(model, dir);
            BuiltInTokenizer.Save(dir);
            Assert.IsFalse(cuda.is_available(), "this test describes a machine without CUDA");

            using (var plain = new MLContext().StepWiser().LoadModel(dir)) Assert.AreEqual(TorchSharp.DeviceType.CPU, plain.Device.type);
            var strict = new MLContext { GpuDeviceId = 0, FallbackToCpu = false };
            var refused = Assert.ThrowsExactly<InvalidOperationException>(() => strict.StepWiser().LoadModel(dir));
            StringAssert.Contains(refused.Message, "MLContext.GpuDeviceId is 0");
            StringAssert.Contains(refused.Message, "FallbackToCpu");
            using (var given = strict.StepWiser().LoadModel(dir, ScalarType.BFloat16, CPU))
            {
                Assert.AreEqual(TorchSharp.DeviceType.CPU, given.Device.type, "a device given explicitly wins over the context");
                Assert.AreEqual(ScalarType.BFloat16, given.Model.DType);
            }
            var lenient = new MLContext { GpuDeviceId = 0, FallbackToCpu = true };
            using (var fallback = lenient.StepWiser().LoadModel(dir)) Assert.AreEqual(TorchSharp.DeviceType.CPU, fallback.Device.type);
            var judgeDir = Path.Combine(dir, "judge");
            using (var saved = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 2)), JudgeTemplate.Compact)) saved.Save(judgeDir);
            using (var judge = lenient.StepWiser().LoadJudge(judgeDir, ScalarType.Float16))
            {
                Assert.AreEqual(TorchSharp.DeviceType.CPU, judge.Model!.Device.type);
                Assert.AreEqual(ScalarType.Float16, judge.Model.Model.DType);
            }
            Assert.ThrowsExactly<InvalidOperationException>(() => strict.StepWiser().LoadJudge(judgeDir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [TestMethod]
    public void TheJudgeTrainerHonoursTheContextsGpuAndRefusesBeforeTrainingWhenItCannot()
    {
        var steps = new[] { new JudgeExample(new JudgeInput("p", [], "ok"), true), new JudgeExample(new JudgeInput("p", [], "no"), false) };
        StepwiseJudgeTrainerOptions Options(CausalLM model) => new()
        {
            Model = ModelBundle.BuiltIn(model), Template = Short,
            Grpo = new GrpoOptions { Steps = 1, PromptsPerStep = 2, GroupSize = 2, MaxNewTokens = 4, LearningRate = 1e-2 },
        };
        var strict = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = false };
        var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.clone());
        var refused = Assert.ThrowsExactly<InvalidOperationException>(() => strict.StepWiser().Trainers.StepwiseJudge(Options(model)).Fit(StepwiseJudgeTrainer.ToDataView(strict, steps)));
        StringAssert.Contains(refused.Message, "GpuDeviceId");
        foreach (var (name, parameter) in model.named_parameters()) Assert.IsTrue(parameter.equal(before[name]).all().item<bool>(), $"{name} was not trained");
        model.Dispose();

        var lenient = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true };
        var trainer = lenient.StepWiser().Trainers.StepwiseJudge(Options(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3)));
        using var judge = trainer.Fit(StepwiseJudgeTrainer.ToDataView(lenient, steps));
        Assert.AreEqual(TorchSharp.DeviceType.CPU, judge.Model!.Device.type);
        Assert.HasCount(1, trainer.LastMetrics);
    }

    [TestMethod]
    [DataRow("Llama3", "<|eot_id|>")]
    [DataRow("ChatML", "<|im_end|>")]
    public async Task AChatReplyEndsAtTheTemplatesOwnEndOfTurn(string flavor, string turnEnd)
    {
        var template = flavor == "Llama3" ? ChatTemplate.Llama3 : ChatTemplate.ChatML;
        var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
        var tokenizer = BuiltInTokenizer.Create();
        var engine = new RecordingGenerator(new LocalTextGenerator(model, tokenizer));
        var options = new OpenAIServerOptions
        {
            Url = "http://127.0.0.1:0", ModelName = "tiny", MaxContextTokens = model.Config.MaxPositionEmbeddings, VocabularySize = model.Config.VocabSize,
            CountTokens = text => tokenizer.CountTokens(text),
        };
        await using var app = OpenAICompatibleServer.Build(engine, template, options);
        await app.StartAsync();
        using var http = new HttpClient();
        using var response = await http.PostAsJsonAsync(OpenAICompatibleServer.Addresses(app)[0] + "/v1/chat/completions",
            new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }), ["max_tokens"] = 4, ["stop"] = "zz" });
        Assert.IsTrue(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        CollectionAssert.AreEqual(new[] { "zz", turnEnd }, engine.Stops.Single().ToArray(), "the client's stop strings and the template's end of turn, nothing else");
        await app.StopAsync();
    }

    [TestMethod]
    public void ServeAlsoStopsOnTheEndOfTurnTokenOfTheTemplate()
    {
        // The built-in tokenizer with Llama 3's end-of-turn marker added as a special token.
        var json = JsonNode.Parse(BuiltInTokenizer.ToJson())!.AsObject();
        var added = json["added_tokens"]!.AsArray();
        var eot = BuiltInTokenizer.EndOfTextId + added.Count;
        added.Add(new JsonObject { ["id"] = eot, ["content"] = "<|eot_id|>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true });
        var tokenizer = HuggingFaceTokenizer.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString())), "test tokenizer");
        CollectionAssert.AreEqual(new[] { eot }, ServeCommand.EndOfTurnIds(tokenizer, ChatTemplate.Llama3));
        CollectionAssert.AreEqual(new[] { tokenizer.SpecialTokens!["<|im_end|>"] }, ServeCommand.EndOfTurnIds(tokenizer, ChatTemplate.ChatML));
        Assert.IsEmpty(ServeCommand.EndOfTurnIds(BuiltInTokenizer.Create(), ChatTemplate.Llama3), "no such token, no extra end of sequence");
    }

    [TestMethod]
    public void ServeLoadsTheModelInTheTypeAskedFor()
    {
        var dir = Directory.CreateTempSubdirectory("serve-dtype").FullName;
        try
        {
            using (var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1)) HuggingFaceCheckpoint.Save(model, dir);
            BuiltInTokenizer.Save(dir);
            using var server = SamplesApp.Start(["serve", "--model", dir, "--port", "0", "--dtype", "bf16"]);
            var line = server.WaitForLine(l => l.StartsWith("Serving", StringComparison.Ordinal), TimeSpan.FromMinutes(1));
            StringAssert.Contains(line, "on cpu in BFloat16");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>The real engine, recording the stop strings of every request it is given.</summary>
    private sealed class RecordingGenerator(ITextGenerator inner) : ITextGenerator
    {
        public List<IReadOnlyList<string>> Stops { get; } = [];

        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            lock (Stops) Stops.AddRange(requests.Select(r => r.Options.Stop));
            return inner.GenerateAsync(requests, cancellationToken);
        }
    }
}
