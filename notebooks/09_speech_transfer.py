# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · Speech transfer: a pretrained speaker encoder against MFCCs
#
# [Glossary](../docs/glossary.md): the terms of these notebooks in English and Japanese.
#
# **Question.** A system must recognise who is speaking from one or a few short clips per
# speaker (**speaker identification**). Does a **speaker encoder** pretrained on thousands of
# recorded speakers give a better starting point than the classic hand-made features, the
# **MFCCs** (mel-frequency cepstral coefficients, Davis and Mermelstein, 1980)? And when the
# speakers talk faster, slower, higher or lower than in the clips we trained on, which
# representation holds up?
#
# **The data are synthetic.** No recorded speech corpus installs offline, so the clips are
# synthesised on this machine by eSpeak NG (a formant synthesiser, from Debian). Its ten English
# voice variants (`en+m1` ... `en+f4`, `en+croak`) play the speakers; each says ten digits,
# fifteen words and fifteen short sentences, every clip at its own speaking rate and pitch drawn
# around the defaults. Thirty texts are for training and ten for testing, so no voice can be
# recognised by the words. What this limits: one synthesiser with one accent, no noise,
# microphones or rooms, and "speakers" that differ by a few synthesis parameters rather than by
# anatomy. The experiment says how the two representations treat voice and speaking style; it
# does not say how they fare on recorded people.
#
# **The representations**, both computed from the same 16 kHz clips (volume-normalised, long
# silences trimmed):
#
# * **MFCC statistics**: the mean and standard deviation over time of 20 MFCCs, 40 numbers;
# * **Resemblyzer embeddings**: the 256-d output of Resemblyzer's speaker encoder, a three-layer
#   LSTM trained for speaker verification with the generalised end-to-end loss (Wan et al., 2018)
#   on recorded speech, frozen. Its weights ship inside the `resemblyzer` package.
#
# **The classifiers.** With one clip per voice there is nothing to validate on, so both
# representations use the same fixed rule: the **nearest centroid** by cosine similarity. With 5
# and 20 clips per voice, a logistic-regression **linear probe** whose weight decay is chosen on a
# validation fifth of the clips, then refitted on all of them. Ten seeds redraw the training
# clips; every comparison is paired on the seed.

# %% tags=["parameters"]
profile = None  # "quick" (CPU, minutes) or "full" (GPU kernel); None reads TLW_PROFILE
seed = 0

# %%
import matplotlib.pyplot as plt
from IPython.display import Audio, display

import tlworkbench as tlw
from tlworkbench import plots
from tlworkbench.experiments import speech_transfer as sx

prof = tlw.get_profile(profile)
tlw.seed_everything(seed)
prof

# %% [markdown]
# The speaker encoder in the zoo and the synthesised set in the data registry:

# %%
models = tlw.list_models()
models[models["modality"] == "speech"]

# %%
sets = tlw.list_datasets()
sets[sets["modality"] == "speech"].T

# %% [markdown]
# ## The experiment
#
# `run_speech_transfer` synthesises the 800 clips on first use (a few seconds; they are kept in
# the data folder), computes both representations of every clip once, then runs both
# classifiers at 1, 5 and 20 clips per voice for ten seeds and scores them on the 100 test clips
# of the normal condition and on the 400 shifted test clips.

# %%
result = sx.run_speech_transfer(profile=prof.name)
print(f"texts spoken in both the training and the test clips: {result.shared_texts}")
result.clips.groupby(["split", "condition"]).agg(clips=("text", "size"), voices=("voice", "nunique"),
                                                 rate=("rate", "mean"), pitch=("pitch", "mean"),
                                                 seconds=("seconds", "mean")).round(2)

# %% [markdown]
# ## What the clips look like
#
# The same test sentence in four voices (top) and one voice in the five conditions (bottom).
# The rate is in words per minute; the pitch is eSpeak's base pitch, from 0 to 99.

# %%
ex = result.example
table = ex["table"]
text = table.loc[table["text"].str.endswith("."), "text"].iloc[0]
fig, axes = plt.subplots(2, 5, figsize=(15, 5.5), layout="constrained", sharey=True)
for ax, voice in zip(axes[0], ex["classes"][::2]):
    i = table.index[(table["text"] == text) & (table["voice"] == voice) & (table["condition"] == "normal")][0]
    plots.plot_spectrogram(ex["waveforms"][i], ex["sample_rate"], ax=ax,
                           title=f"{voice} (rate {table.at[i, 'rate']}, pitch {table.at[i, 'pitch']})")
for ax, condition in zip(axes[1], table["condition"].unique()):
    i = table.index[(table["text"] == text) & (table["voice"] == ex["classes"][0]) & (table["condition"] == condition)][0]
    plots.plot_spectrogram(ex["waveforms"][i], ex["sample_rate"], ax=ax,
                           title=f"{condition} (rate {table.at[i, 'rate']}, pitch {table.at[i, 'pitch']})")
fig.suptitle(f"“{text}”")

# %% [markdown]
# Listen to two voices saying it (the players need a browser; they do nothing in a script):

# %%
for voice in ex["classes"][:2]:
    i = table.index[(table["text"] == text) & (table["voice"] == voice) & (table["condition"] == "normal")][0]
    print(voice)
    display(Audio(ex["waveforms"][i], rate=ex["sample_rate"]))

# %% [markdown]
# ## Speaker identification at 1, 5 and 20 clips per voice
#
# Accuracy on the normal test clips (chance is 0.1): one line per representation, the mean over
# seeds with one standard deviation, the classifier of each budget as described above.

# %%
head = sx.headline(result.runs)
ax = plots.plot_data_efficiency(head[head["condition"] == "normal"], x="per_class", hue="representation")
ax.set_title("speaker identification, normal test clips")

# %% [markdown]
# Resemblyzer minus MFCC, in accuracy points, paired on the seed, with a 95% t-interval and the
# number of seeds. The nearest centroid is also shown at 5 and 20 clips per voice: the rule with
# nothing tuned, beside the probe.

# %%
gains = result.gains[result.gains["condition"] == "normal"]
gains.pivot_table(index="per_class", columns="method", values="interval", aggfunc="first")

# %% [markdown]
# ## A shift in speaking rate or pitch
#
# The 20 training clips per voice are all at the normal rate and pitch; the test clips are also
# spoken faster (300 to 340 words per minute against 150 to 200), slower (90 to 110), higher
# (pitch 85 to 95 against 40 to 60) and lower (5 to 15). One dot per seed, a bar at the mean:

# %%
shifted = head[head["per_class"] == sx.SHIFT_BUDGET]
ax = plots.plot_condition_scores(shifted, x="condition", y="accuracy", hue="representation")
ax.set_title(f"{sx.SHIFT_BUDGET} clips per voice, trained on the normal condition")

# %% [markdown]
# The drop each shift causes (normal minus shifted accuracy, in points, paired on the seed), and
# Resemblyzer's drop minus MFCC's (positive: the shift costs Resemblyzer more):

# %%
drops = result.drops.pivot_table(index="condition", columns="representation", values="interval", aggfunc="first")
drops["Resemblyzer's drop minus MFCC's"] = result.gaps.set_index("condition")["interval"]
drops.reindex(list(sx.SHIFTS))

# %% tags=["summary"]
result.summary

# %%
print(result.conclusion)

# %% [markdown]
# How to read it. With a single clip per voice, the pretrained encoder's embedding is the better
# description of a voice: it was trained to map different sentences of one speaker close
# together, while a class mean of one clip's MFCCs also describes what was said and how fast.
# The advantage shrinks as the budget grows; with 20 clips a probe on 40 MFCC statistics learns
# what separates these ten voices about as well, plausibly because synthetic voices differ in a
# few stable acoustic parameters that MFCC averages capture.
#
# The shifts tell the other side of transfer. Where the conclusion finds that a shift costs
# Resemblyzer more than the MFCCs, the same voice, shifted, lands nearer to another voice in the
# embedding: the encoder learnt from natural speech that pitch and tempo are part of who is
# speaking, and part of the cost of fast speech may be mechanical (a short clip fills less of the
# encoder's 1.6 s window). A pretrained representation brings what its source taught it to attend
# to; when the target changes in exactly that, hand-made features that summarise the spectrum can
# be the more robust choice. The numbers are for synthetic voices; on recorded speakers, whose
# voices differ in far more than a few parameters, the balance would have to be measured again.

# %% [markdown]
# ## Exercises
#
# Each exercise asks you to change one thing, predict what happens, then run it. Write your
# prediction down first. `check(answer)` says whether your answer is right, or where to look.

# %%
from tlworkbench.exercises import exercise_sheet
from tlworkbench.experiments.speech_transfer import exercises as speech_exercises

sheet = exercise_sheet(speech_exercises)
sheet

# %% [markdown]
# ### Exercise 1 · Three clips per voice
#
# The nearest centroid is cheap to rerun on the stored representations. Predict where Resemblyzer's
# accuracy with 3 clips per voice falls between the 1-clip and the 5-clip results, then run it.

# %%
per_class = 3
runs3 = sx.identification_runs(result.features, budgets=(per_class,))
rows = runs3[(runs3["representation"] == "resemblyzer") & (runs3["method"] == "centroid")
             & (runs3["condition"] == "normal")]
answer = round(float(rows["accuracy"].mean()), 3)  # your answer
sheet.check("three_per_voice", answer)

# %% [markdown]
# ### Exercise 2 · The shift that hurts most
#
# Which of the four shifted conditions costs Resemblyzer the most accuracy? Predict it, then
# read the drops.

# %%
res_drops = result.drops[result.drops["representation"] == "resemblyzer"].set_index("condition")["mean"]
answer = res_drops.idxmax()  # your answer
sheet.check("worst_shift", answer)
