"""The course's models on the engine: logistic regression, deep networks, their estimators,
the training loop and its optimizers, and the data sets they are shown on."""
