using Microsoft.Extensions.AI;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Tests.Generation;

/// <summary>The IChatClient adapter and the request-coalescing decorator, over a real local engine.</summary>
[TestClass]
public sealed class ChatClientAndBatchingTests
{
    private static LocalTextGenerator Engine() =>
        new(HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", "llama-tiny")), BuiltInTokenizer.Create());

    private static readonly ChatMessage[] Conversation = [new(ChatRole.System, "s"), new(ChatRole.User, "q")];

    [TestMethod]
    public async Task HonoursMaxOutputTokensTemperatureAndSeed()
    {
        // A built-in model (its vocabulary holds the ChatML special tokens); random weights suffice for these checks.
        var engine = new LocalTextGenerator(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3), BuiltInTokenizer.Create());
        IChatClient chat = new TextGeneratorChatClient(engine);

        var capped = await chat.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 5, Temperature = 0 });
        Assert.AreEqual(ChatFinishReason.Length, capped.FinishReason);
        Assert.AreEqual(5, capped.Usage!.OutputTokenCount);

        var greedyAgain = await chat.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 5, Temperature = 0 });
        Assert.AreEqual(capped.Text, greedyAgain.Text, "temperature 0 is greedy");

        var seededA = await chat.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 20, Temperature = 1.5f, Seed = 11 });
        var seededB = await chat.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 20, Temperature = 1.5f, Seed = 11 });
        var seededC = await chat.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 20, Temperature = 1.5f, Seed = 12 });
        Assert.AreEqual(seededA.Text, seededB.Text, "same seed, same reply");
        Assert.AreNotEqual(seededA.Text, seededC.Text, "another seed, another reply");
    }

    [TestMethod]
    public async Task StopSequencesCutTheReplyAndPrefillContinuesTheAssistantTurn()
    {
        var engine = new LocalTextGenerator(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3), BuiltInTokenizer.Create());
        var chat = new TextGeneratorChatClient(engine);
        var free = await chat.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 30, Temperature = 0 });
        Assert.IsGreaterThan(3, free.Text.Length);
        var stop = free.Text.Substring(2, 1);
        var stopped = await chat.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 30, Temperature = 0, StopSequences = [stop] });
        Assert.AreEqual(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.AreEqual(ChatFinishReason.Stop, stopped.FinishReason);

        var request = chat.BuildRequest([.. Conversation, new ChatMessage(ChatRole.Assistant, "partial")], new ChatOptions { TopP = 0.5f, TopK = 7 });
        Assert.EndsWith("<|im_start|>assistant\npartial", request.Prompt!);
        Assert.AreEqual(0.5f, request.Options.TopP);
        Assert.AreEqual(7, request.Options.TopK);
        CollectionAssert.Contains(request.Options.Stop.ToArray(), ChatTemplate.EndOfTurn);
        Assert.IsNotNull(chat.GetService(typeof(ChatClientMetadata)));
        Assert.AreSame(engine, chat.GetService(typeof(LocalTextGenerator)));

        // A Llama 3 template ends a reply at its own end-of-turn text.
        var llama = new TextGeneratorChatClient(engine, ChatTemplate.Llama31).BuildRequest(Conversation, null);
        StringAssert.EndsWith(llama.Prompt!, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        CollectionAssert.Contains(llama.Options.Stop.ToArray(), "<|eot_id|>");
        CollectionAssert.DoesNotContain(llama.Options.Stop.ToArray(), ChatTemplate.EndOfTurn);
    }

    [TestMethod]
    public async Task ConcurrentCallersAreCoalescedAndEachGetsItsOwnResults()
    {
        var inner = new CountingGenerator(Engine());
        await using var batching = new BatchingTextGenerator(inner, maxBatchRequests: 64, maxWait: TimeSpan.FromMilliseconds(50));
        int[][] prompts = [.. Enumerable.Range(0, 24).Select(i => new[] { 5 + i, 17, 42 + i % 7, 3 })];
        var options = SamplingOptions.Greedy(12);
        var expected = Engine().Generate(prompts.Select(p => new GenerationRequest { PromptTokenIds = p, Options = options }).ToArray());

        var calls = prompts.Select(p => Task.Run(() => batching.GenerateAsync([new GenerationRequest { PromptTokenIds = p, Options = options }]))).ToArray();
        var results = await Task.WhenAll(calls);

        for (var i = 0; i < prompts.Length; i++)
            CollectionAssert.AreEqual(expected[i].Samples[0].TokenIds.ToArray(), results[i][0].Samples[0].TokenIds.ToArray(), $"caller {i}");
        Assert.IsLessThan(prompts.Length, inner.Calls, "calls arriving together share batches");
        Assert.AreEqual(prompts.Length, inner.Requests, "every request ran exactly once");
    }

    [TestMethod]
    public async Task ACallerThatCancelsGetsItsCancellationWhileOthersComplete()
    {
        await using var batching = new BatchingTextGenerator(Engine(), maxWait: TimeSpan.FromMilliseconds(200));
        using var cts = new CancellationTokenSource();
        var request = new GenerationRequest { PromptTokenIds = [5, 6, 7], Options = SamplingOptions.Greedy(8) };
        var cancelled = batching.GenerateAsync([request], cts.Token);
        var kept = batching.GenerateAsync([request]);
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => cancelled);
        Assert.HasCount(1, (await kept)[0].Samples);
    }

    private sealed class CountingGenerator(ITextGenerator inner) : ITextGenerator
    {
        public int Calls;
        public int Requests;

        public Task<IReadOnlyList<GenerationResult>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            Interlocked.Add(ref Requests, requests.Count);
            return inner.GenerateAsync(requests, cancellationToken);
        }
    }
}
